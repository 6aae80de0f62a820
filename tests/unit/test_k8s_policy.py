"""Policy on k8s/: what every Pulse workload must have, on every overlay.

Each check runs on the rendered overlays (no problem may be found) and on a doctored copy of
the dev overlay that breaks exactly that rule (the check must find it), so no check passes
by being unable to fail.
"""

from collections.abc import Callable
from typing import Any

import pytest

from pulse.cli import build_parser
from tests.support import k8s_policy as policy
from tests.support import k8s_wiring as wiring
from tests.support.k8s_render import OVERLAYS, Manifest, find, render

Check = Callable[[list[Manifest]], list[str]]


def _commands(objects: list[Manifest]) -> list[str]:
    return wiring.command_problems(objects, build_parser())


CHECKS: dict[str, Check] = {
    "probes": policy.probe_problems,
    "resources": policy.resource_problems,
    "pdb": policy.pdb_problems,
    "hpa": policy.hpa_problems,
    "security": policy.security_problems,
    "identity": policy.identity_problems,
    "shutdown": policy.shutdown_problems,
    "network": wiring.network_problems,
    "config": wiring.config_problems,
    "ingress": wiring.ingress_problems,
    "commands": _commands,
}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_overlay_obeys_policy(overlay: str, check: str) -> None:
    assert CHECKS[check](render(overlay)) == []


def test_every_workload_is_deployed() -> None:
    for overlay in OVERLAYS:
        objects = render(overlay)
        assert {policy.component(o) for o in policy.services(objects)} == set(policy.COMMANDS)
        assert find(objects, "Job", "pulse-migrate")


def _pod(objects: list[Manifest], name: str, kind: str = "Deployment") -> dict[str, Any]:
    return policy.pod(find(objects, kind, name))


def _container(objects: list[Manifest], name: str, kind: str = "Deployment") -> dict[str, Any]:
    container: dict[str, Any] = _pod(objects, name, kind)["containers"][0]
    return container


def _drop(objects: list[Manifest], kind: str, name: str) -> None:
    objects.remove(find(objects, kind, name))


def _policy(objects: list[Manifest], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "NetworkPolicy", name)["spec"]
    return spec


def _config(objects: list[Manifest]) -> dict[str, str]:
    cm = next(o for o in objects if o["metadata"]["name"].startswith("pulse-config"))
    data: dict[str, str] = cm["data"]
    return data


# (check, what the doctor breaks, the doctor, a word the problem must name)
DOCTORED: list[tuple[str, str, Callable[[list[Manifest]], None], str]] = [
    (
        "probes",
        "no liveness",
        lambda o: _container(o, "pulse-entry").pop("livenessProbe"),
        "pulse-entry",
    ),
    (
        "probes",
        "readiness on /healthz",
        lambda o: _container(o, "pulse-worker")["readinessProbe"]["httpGet"].update(
            path="/healthz"
        ),
        "pulse-worker",
    ),
    (
        "probes",
        "engine without startup probe",
        lambda o: _container(o, "kafka", "StatefulSet").pop("startupProbe"),
        "kafka",
    ),
    (
        "resources",
        "no memory limit",
        lambda o: _container(o, "pulse-worker")["resources"]["limits"].pop("memory"),
        "limits.memory",
    ),
    (
        "resources",
        "job without requests",
        lambda o: _container(o, "pulse-migrate", "Job")["resources"].pop("requests"),
        "pulse-migrate",
    ),
    (
        "pdb",
        "no PDB",
        lambda o: _drop(o, "PodDisruptionBudget", "pulse-dashboard"),
        "pulse-dashboard",
    ),
    ("hpa", "no HPA", lambda o: _drop(o, "HorizontalPodAutoscaler", "pulse-entry"), "pulse-entry"),
    (
        "hpa",
        "more consumers than partitions",
        lambda o: find(o, "HorizontalPodAutoscaler", "pulse-worker")["spec"].update(maxReplicas=4),
        "partitions",
    ),
    (
        "hpa",
        "consumer on CPU",
        lambda o: find(o, "HorizontalPodAutoscaler", "pulse-worker")["spec"].update(
            metrics=find(o, "HorizontalPodAutoscaler", "pulse-entry")["spec"]["metrics"]
        ),
        "External",
    ),
    (
        "security",
        "writable root",
        lambda o: _container(o, "pulse-core")["securityContext"].update(
            readOnlyRootFilesystem=False
        ),
        "writable",
    ),
    (
        "security",
        "a capability added",
        lambda o: _container(o, "pulse-entry")["securityContext"]["capabilities"].update(
            add=["NET_ADMIN"]
        ),
        "capabilities",
    ),
    (
        "security",
        "runs as root",
        lambda o: _pod(o, "pulse-dashboard")["securityContext"].update(runAsUser=0),
        "root",
    ),
    (
        "security",
        "no /tmp volume",
        lambda o: _container(o, "pulse-worker").update(volumeMounts=[]),
        "/tmp",
    ),
    (
        "identity",
        "token mounted",
        lambda o: _pod(o, "pulse-entry").pop("automountServiceAccountToken"),
        "token",
    ),
    (
        "identity",
        "default account",
        lambda o: _pod(o, "pulse-core").pop("serviceAccountName"),
        "default",
    ),
    ("shutdown", "no preStop", lambda o: _container(o, "pulse-entry").pop("lifecycle"), "preStop"),
    ("network", "no policy", lambda o: _drop(o, "NetworkPolicy", "pulse-worker"), "pulse-worker"),
    (
        "network",
        "no default deny",
        lambda o: _drop(o, "NetworkPolicy", "pulse-default-deny"),
        "default-deny",
    ),
    (
        "network",
        "admin API public",
        lambda o: _policy(o, "pulse-core")["ingress"][0]["from"].append(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ),
        "ingress controller",
    ),
    (
        "network",
        "entry reaches Elasticsearch",
        lambda o: _policy(o, "pulse-entry")["egress"].append(
            _policy(o, "pulse-worker")["egress"][-1]
        ),
        "elasticsearch",
    ),
    (
        "network",
        "egress anywhere",
        lambda o: _policy(o, "pulse-dashboard")["egress"].append({"ports": [{"port": 443}]}),
        "any destination",
    ),
    (
        "config",
        "misspelled setting",
        lambda o: _config(o).update(PULSE_KAFKA_BOOTSTRAP_SERVER="kafka:9092"),
        "PULSE_KAFKA_BOOTSTRAP_SERVER",
    ),
    (
        "config",
        "token in the ConfigMap",
        lambda o: _config(o).update(PULSE_ADMIN_TOKEN="x"),
        "secret",
    ),
    (
        "config",
        "token as a literal",
        lambda o: _container(o, "pulse-core")["env"].append(
            {"name": "PULSE_DASHBOARD_TOKEN", "value": "x"}
        ),
        "Secret",
    ),
    (
        "ingress",
        "metrics public",
        lambda o: find(o, "Ingress", "pulse-entry")["spec"]["rules"][0]["http"]["paths"].append(
            {
                "path": "/",
                "pathType": "Prefix",
                "backend": {"service": {"name": "pulse-entry", "port": {"name": "http"}}},
            }
        ),
        "/metrics",
    ),
    (
        "ingress",
        "admin API routed",
        lambda o: find(o, "Ingress", "pulse-dashboard")["spec"]["rules"][0]["http"]["paths"][0][
            "backend"
        ]["service"].update(name="pulse-core"),
        "pulse-core",
    ),
    (
        "commands",
        "unknown subcommand",
        lambda o: _container(o, "pulse-entry").update(args=["entri", "--port", "8081"]),
        "entri",
    ),
    (
        "commands",
        "port differs",
        lambda o: _container(o, "pulse-dashboard").update(args=["dashboard", "--port", "9000"]),
        "9000",
    ),
    (
        "commands",
        "entrypoint replaced",
        lambda o: _container(o, "pulse-migrate", "Job").update(command=["sh"]),
        "entrypoint",
    ),
]


@pytest.mark.parametrize(
    ("check", "doctor", "word"),
    [pytest.param(c, d, w, id=f"{c}: {what}") for c, what, d, w in DOCTORED],
)
def test_check_finds_the_doctored_fault(
    check: str, doctor: Callable[[list[Manifest]], None], word: str
) -> None:
    objects = render("dev")
    before = set(CHECKS[check](objects))
    doctor(objects)
    found = set(CHECKS[check](objects)) - before
    assert found, f"{check} found nothing"
    assert any(word in problem for problem in found), found


def test_every_check_is_doctored() -> None:
    assert {c for c, *_ in DOCTORED} == set(CHECKS)
