"""compose.yaml and the Dockerfile: valid Compose, and the deployment properties that matter.

No Docker engine is needed: compose.yaml is validated against the Compose Specification's JSON
Schema (vendored in tests/data, see its README), and its engines are compared with the versions
and settings pinned in scripts/stack, so the two ways of running the full stack cannot drift.
"""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"
STACK_SCRIPT = ROOT / "scripts" / "stack"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

ENGINES = ("postgres", "redis", "kafka", "elasticsearch")
PULSE_SERVICES = {"core": 8080, "worker": 8083, "entry": 8081, "dashboard": 8082}
PULSE_IMAGE = "campaign-pulse:local"
REQUIRED_VARIABLES = ("PULSE_ADMIN_TOKEN", "PULSE_DASHBOARD_TOKEN")
# The vendored snapshot declares `"$schema": "http://json-schema.org/draft/2019-09/schema#"`, a URI
# no metaschema has (jsonschema would guess and warn); the upstream schema has since declared
# draft-07, which is what its keywords are, so validate with that explicitly.
Validator = jsonschema.Draft7Validator
# scripts/stack installs Debian's redis-server (7.0 on bookworm) and has no pin variable for it.
REDIS_MAJOR = "7"


@cache
def _schema() -> dict[str, Any]:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    assert schema["title"] == "Compose Specification"
    return schema


@cache
def _compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@cache
def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(_compose_text())
    assert isinstance(loaded, dict)
    return loaded


def _service(name: str) -> dict[str, Any]:
    service = _compose()["services"][name]
    assert isinstance(service, dict)
    return service


@cache
def _stack_pins() -> dict[str, str]:
    """The `NAME=value` assignments of scripts/stack's "pinned versions" block."""
    text = STACK_SCRIPT.read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=([^\s#]+)", text, flags=re.MULTILINE))
    for name in ("PG_MAJOR", "KAFKA_VERSION", "ES_VERSION"):
        assert name in pins, f"scripts/stack no longer pins {name}"
    return pins


@cache
def _stack_kafka_properties() -> dict[str, str]:
    """server.properties as scripts/stack writes it (the heredoc), `$VAR` references unresolved."""
    text = STACK_SCRIPT.read_text(encoding="utf-8")
    match = re.search(r'kafka-server\.properties" <<EOF\n(.*?)\nEOF\n', text, flags=re.DOTALL)
    assert match, "scripts/stack no longer writes kafka-server.properties from a heredoc"
    props = {}
    for line in match.group(1).splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


# ------------------------------------------------------------------ the specification


def test_schema_is_a_valid_json_schema() -> None:
    Validator.check_schema(_schema())


def test_compose_file_matches_the_compose_specification() -> None:
    validator = Validator(_schema(), format_checker=Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def test_the_schema_check_catches_a_broken_file() -> None:
    """Guards the check itself: an unknown key and a bad depends_on condition are refused."""
    broken = {
        "services": {
            "core": {
                "image": PULSE_IMAGE,
                "depends_on": {"migrate": {"condition": "service_finished"}},
                "helthcheck": {"test": ["CMD", "true"]},
            }
        }
    }
    errors = {"/".join(map(str, e.absolute_path)) for e in Validator(_schema()).iter_errors(broken)}
    assert errors == {"services/core", "services/core/depends_on"}


def test_no_obsolete_version_key() -> None:
    assert "version" not in _compose()


def test_service_set() -> None:
    assert set(_compose()["services"]) == {*ENGINES, "migrate", *PULSE_SERVICES}


# ------------------------------------------------------------------ ordering and health


@pytest.mark.parametrize("name", sorted(PULSE_SERVICES))
def test_pulse_service_waits_for_migrate_and_healthy_engines(name: str) -> None:
    depends_on = _service(name)["depends_on"]
    assert isinstance(depends_on, dict), "long syntax is needed to state conditions"
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    for engine in ENGINES:
        assert depends_on.get(engine) == {"condition": "service_healthy"}, engine


def test_migrate_runs_once_after_the_engines_are_healthy() -> None:
    migrate = _service("migrate")
    assert migrate["command"] == ["migrate"]
    assert migrate["image"] == PULSE_IMAGE
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {e: {"condition": "service_healthy"} for e in ENGINES}


@pytest.mark.parametrize("name", [*ENGINES, *sorted(PULSE_SERVICES)])
def test_every_engine_and_service_has_a_healthcheck(name: str) -> None:
    healthcheck = _service(name).get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False)
    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")


@pytest.mark.parametrize(("name", "port"), sorted(PULSE_SERVICES.items()))
def test_pulse_service_runs_its_command_and_probes_readyz(name: str, port: int) -> None:
    service = _service(name)
    assert service["command"][0] == name
    assert service["image"] == PULSE_IMAGE
    assert service["build"] in (".", {"context": "."})
    probe = " ".join(service["healthcheck"]["test"])
    # python's urllib: the slim image has no curl; urlopen raises on 503 (not ready).
    assert "python" in probe
    assert f"http://127.0.0.1:{port}/readyz" in probe


def test_engine_healthchecks_probe_what_scripts_stack_probes() -> None:
    def probe(name: str) -> str:
        return " ".join(_service(name)["healthcheck"]["test"][1:])

    assert "pg_isready" in probe("postgres")
    assert "redis-cli ping" in probe("redis")
    assert re.search(
        r"/opt/kafka/bin/(kafka-broker-api-versions|kafka-topics)\.sh --bootstrap-server",
        probe("kafka"),
    )
    assert "_cluster/health?wait_for_status=yellow" in probe("elasticsearch")


# ------------------------------------------------------------------ same engines as scripts/stack


def test_engine_images_are_pinned_to_the_scripts_stack_versions() -> None:
    pins = _stack_pins()
    assert _service("postgres")["image"] == f"postgres:{pins['PG_MAJOR']}"
    assert _service("redis")["image"] == f"redis:{REDIS_MAJOR}"
    assert _service("kafka")["image"] == f"apache/kafka:{pins['KAFKA_VERSION']}"
    assert (
        _service("elasticsearch")["image"]
        == f"docker.elastic.co/elasticsearch/elasticsearch:{pins['ES_VERSION']}"
    )


def test_no_image_floats() -> None:
    for name, service in _compose()["services"].items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: {image}"


@pytest.mark.parametrize(
    "key",
    [
        "process.roles",
        "node.id",
        "controller.listener.names",
        "inter.broker.listener.name",
        "listener.security.protocol.map",
        "num.partitions",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
        "auto.create.topics.enable",
        "group.initial.rebalance.delay.ms",
    ],
)
def test_kafka_settings_mirror_scripts_stack(key: str) -> None:
    stack = _stack_kafka_properties()
    env = _environment(_service("kafka"))
    env_name = "KAFKA_" + key.upper().replace(".", "_")
    assert env.get(env_name, "").lower() == stack[key].lower(), env_name


def test_kafka_is_a_single_kraft_node() -> None:
    env = _environment(_service("kafka"))
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # Clients in the other containers use the advertised address.
    assert _environment(_service("core"))["PULSE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_elasticsearch_mirrors_scripts_stack() -> None:
    env = _environment(_service("elasticsearch"))
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    assert env["ES_JAVA_OPTS"].split() == ["-Xms512m", "-Xmx512m"]


def test_redis_appends_only() -> None:
    command = _service("redis")["command"]
    assert command[command.index("--appendonly") + 1] == "yes"


def test_engine_data_lives_in_named_volumes() -> None:
    declared = set(_compose()["volumes"])
    for engine in ENGINES:
        volumes = _service(engine)["volumes"]
        sources = {v.split(":", 1)[0] if isinstance(v, str) else v["source"] for v in volumes}
        assert sources and sources <= declared, engine


# ------------------------------------------------------------------ exposure and secrets


def _published(port: str | int | dict[str, Any]) -> tuple[str | None, str]:
    """(host ip, the whole entry) of a `ports:` entry, short or long syntax."""
    if isinstance(port, dict):
        return port.get("host_ip"), json.dumps(port)
    text = str(port)
    parts = text.split(":")
    host_ip = parts[0] if len(parts) == 3 else None
    return host_ip, text


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            host_ip, entry = _published(port)
            assert host_ip == "127.0.0.1", f"{name} publishes {entry} beyond loopback"


@pytest.mark.parametrize(("name", "port"), sorted(PULSE_SERVICES.items()))
def test_pulse_ports_are_published(name: str, port: int) -> None:
    assert f"127.0.0.1:{port}:{port}" in _service(name)["ports"]


def test_pulse_services_share_one_environment() -> None:
    envs = [_environment(_service(n)) for n in ("migrate", *PULSE_SERVICES)]
    # Only the admin API differs: its consumers are the `worker` service.
    assert _environment(_service("core"))["PULSE_CONSUMER_ENABLED"] == "false"
    assert all("PULSE_CONSUMER_ENABLED" not in env for env in envs if env is not envs[1])
    shared = [{k: v for k, v in env.items() if k != "PULSE_CONSUMER_ENABLED"} for env in envs]
    assert all(env == shared[0] for env in shared)
    assert set(envs[0]) >= {
        "PULSE_DATABASE_URL",
        "PULSE_REDIS_URL",
        "PULSE_KAFKA_BOOTSTRAP_SERVERS",
        "PULSE_ELASTICSEARCH_URL",
        *REQUIRED_VARIABLES,
    }
    assert envs[0]["PULSE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in envs[0]["PULSE_DATABASE_URL"]


@pytest.mark.parametrize("variable", REQUIRED_VARIABLES)
def test_required_tokens_fail_fast_when_unset(variable: str) -> None:
    references = re.findall(r"\$\{" + variable + r"([^}]*)\}", _compose_text())
    assert references, f"{variable} is not used"
    for modifier in references:
        assert re.fullmatch(r":\?.+", modifier), f"${{{variable}{modifier}}} must be ':?message'"
    for name in PULSE_SERVICES:
        assert _environment(_service(name))[variable].startswith(f"${{{variable}:?")


def test_every_variable_is_required_or_has_a_default() -> None:
    text = re.sub(r"^\s*#.*$", "", _compose_text(), flags=re.MULTILINE)
    assert "$$" not in text
    for reference in re.findall(r"\$\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*(:-.*|:\?.+)", reference), reference
    assert not re.search(r"\$[A-Za-z_]", text), "bare $VAR: use ${VAR:-default} or ${VAR:?msg}"


# ------------------------------------------------------------------ the image


def test_dockerfile_builds_a_non_root_multi_stage_image() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert len(stages) >= 2
    assert "python:3.11-slim" in text
    assert re.search(r"pip install \.(\s|$)", text)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^EXPOSE 8080 8081 8082 8083$", text, flags=re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["pulse"\]$', text, flags=re.MULTILINE)


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    lines = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".cache", ".pulse", "node_modules", ".git"} <= lines


def test_forwarded_headers_are_believed_from_the_compose_gateway_only() -> None:
    env = _environment(_service("entry"))
    trusted = env["PULSE_FORWARDED_ALLOW_IPS"]
    assert "*" not in trusted
    subnet = _compose()["networks"]["default"]["ipam"]["config"][0]
    assert trusted.endswith(subnet["gateway"] + "}")
