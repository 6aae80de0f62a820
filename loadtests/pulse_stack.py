"""Pulse under test: the embedded default (`pulse run`) or the full stack (`pulse core`,
`pulse entry --workers N`, `pulse dashboard`), started as real processes on free loopback ports.

The full stack uses the engines from the environment (`eval "$(scripts/stack env)"`) with
resources of its own, so runs never collide with each other or with other tests: a scratch
Postgres database, a Kafka topic prefix and consumer groups, an Elasticsearch index prefix;
all removed at the end whatever happened (Redis keys of the run expire by their TTLs or are
deleted by name: activity counters and entry records).
"""

import functools
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from datastore.schema import Entry

log = logging.getLogger("loadtests.pulse")

PULSE = str(Path(sys.executable).with_name("pulse"))
ENGINE_VARS = (
    "PULSE_DATABASE_URL",
    "PULSE_KAFKA_BOOTSTRAP_SERVERS",
    "PULSE_ELASTICSEARCH_URL",
    "PULSE_REDIS_URL",
)


class SetupError(RuntimeError):
    """Pulse cannot be started here (engines not configured, a process did not come up)."""


@dataclass
class Pulse:
    core_url: str
    entry_url: str
    dashboard_url: str
    admin_token: str
    dashboard_token: str
    database_url: str
    elasticsearch_url: str | None
    index_prefix: str
    processes: dict[str, int] = field(default_factory=dict)  # name -> pid (children count too)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    return {**env, "PULSE_LOG_LEVEL": "WARNING", **extra}


@contextmanager
def _process(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[int]:
    with log_path.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(url: str, log_path: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SetupError(f"{url} not ready in {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")


@contextmanager
def embedded(workdir: Path, workers: int) -> Iterator[Pulse]:
    """`pulse run`: all three services in one process on the embedded stand-ins."""
    if workers != 1:
        raise SetupError("several entry workers need the full stack: add --stack full")
    data = workdir / "data"
    ports = [free_port() for _ in range(3)]
    admin, reader = f"adm_lt_{secrets.token_hex(8)}", f"dash_lt_{secrets.token_hex(8)}"
    env = _clean_env({"PULSE_ADMIN_TOKEN": admin, "PULSE_DASHBOARD_TOKEN": reader})
    args = [PULSE, "--data-dir", str(data), "run", "--host", "127.0.0.1"]
    for name, port in zip(("core", "entry", "dashboard"), ports, strict=True):
        args += [f"--{name}-port", str(port)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    with _process(args, env, workdir / "pulse-run.log") as pid:
        for url in urls:
            _wait_ready(url, workdir / "pulse-run.log")
        yield Pulse(
            urls[0],
            urls[1],
            urls[2],
            admin_token=admin,
            dashboard_token=reader,
            database_url=f"sqlite:///{(data / 'pulse.sqlite3').resolve()}",
            elasticsearch_url=None,
            index_prefix="",
            processes={"pulse run": pid},
        )


@dataclass
class _Scratch:
    run: str
    admin_url: str
    kafka: str
    elasticsearch: str
    redis: str
    database: str = ""
    database_url: str = ""

    @property
    def topic_prefix(self) -> str:
        return f"lt-{self.run}."

    @property
    def index_prefix(self) -> str:
        return f"pulse-lt-{self.run}"

    @property
    def groups(self) -> list[str]:
        return [f"lt-{self.run}-occurrences", f"lt-{self.run}-entries"]


@contextmanager
def full_stack(workdir: Path, workers: int, run: str) -> Iterator[Pulse]:
    missing = [v for v in ENGINE_VARS if not os.environ.get(v)]
    if missing:
        raise SetupError(
            f'{", ".join(missing)} not set: run `eval "$(scripts/stack env)"` first '
            "(the engines must be up: scripts/stack status)"
        )
    s = _Scratch(run, *(os.environ[v] for v in ENGINE_VARS))
    admin, reader = f"adm_lt_{secrets.token_hex(8)}", f"dash_lt_{secrets.token_hex(8)}"
    try:
        s.database = f"pulse_lt_{run}"
        _sql(s.admin_url, f'CREATE DATABASE "{s.database}"')
        s.database_url = make_url(s.admin_url).set(database=s.database).render_as_string(False)
        env = _clean_env(
            {
                "PULSE_DATABASE_URL": s.database_url,
                "PULSE_KAFKA_BOOTSTRAP_SERVERS": s.kafka,
                "PULSE_KAFKA_TOPIC_PREFIX": s.topic_prefix,
                "PULSE_ELASTICSEARCH_URL": s.elasticsearch,
                "PULSE_ELASTICSEARCH_INDEX_PREFIX": s.index_prefix,
                "PULSE_REDIS_URL": s.redis,
                "PULSE_CONSUMER_GROUP": s.groups[0],
                "PULSE_ENTRIES_CONSUMER_GROUP": s.groups[1],
                "PULSE_ADMIN_TOKEN": admin,
                "PULSE_DASHBOARD_TOKEN": reader,
                "PULSE_DATA_DIR": str(workdir / "data"),
            }
        )
        migrate = subprocess.run(
            [PULSE, "migrate"], env=env, capture_output=True, text=True, timeout=180
        )
        if migrate.returncode != 0:
            raise SetupError(f"pulse migrate failed:\n{migrate.stderr[-3000:]}")
        with ExitStack() as stack:
            pulse = Pulse(
                "", "", "", admin, reader, s.database_url, s.elasticsearch, s.index_prefix
            )
            for name in ("core", "entry", "dashboard"):
                port = free_port()
                args = [PULSE, name, "--host", "127.0.0.1", "--port", str(port)]
                if name == "entry":
                    args += ["--workers", str(workers)]
                log_path = workdir / f"pulse-{name}.log"
                pid = stack.enter_context(_process(args, env, log_path))
                _wait_ready(f"http://127.0.0.1:{port}", log_path)
                setattr(pulse, f"{name}_url", f"http://127.0.0.1:{port}")
                pulse.processes[f"pulse {name}"] = pid
            yield pulse
    finally:
        _cleanup(s)


def _sql(url: str, statement: str) -> None:
    engine = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _activities(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [str(a) for a in conn.scalars(text("SELECT id FROM activities"))]
    finally:
        engine.dispose()


def _cleanup(s: _Scratch) -> None:
    """Best effort, step by step: one failing step must not leave the others undone."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("redis keys", functools.partial(_delete_redis, s)),
        ("kafka topics and groups", functools.partial(_delete_kafka, s)),
        ("elasticsearch indices", functools.partial(_delete_es, s)),
    ]
    if s.database:  # last: the Redis step reads entry ids from it
        steps.append(
            (
                f"database {s.database}",
                functools.partial(
                    _sql, s.admin_url, f'DROP DATABASE IF EXISTS "{s.database}" WITH (FORCE)'
                ),
            )
        )
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # report and go on with the other steps
            log.warning("cleanup_failed what=%r error=%s: %s", what, type(exc).__name__, exc)


def _delete_redis(s: _Scratch) -> None:
    if not s.database_url:
        return
    keys = []
    for activity in _activities(s.database_url):
        tag = f"{{a:{activity}}}"  # entry_service's gate keys of the activity
        keys += [f"pulse:{tag}:{part}" for part in ("count", "users", "keys")]
        keys += [f"lock:pulse:{tag}:warm", f"lock-signal:pulse:{tag}:warm"]
    engine = create_engine(s.database_url)
    try:
        with engine.connect() as conn:
            keys += [f"pulse:entry:{e}" for e in conn.scalars(select(Entry.id))]
    finally:
        engine.dispose()
    client = redis.Redis.from_url(s.redis, socket_timeout=5)
    try:
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def _delete_kafka(s: _Scratch) -> None:
    admin = AdminClient({"bootstrap.servers": s.kafka})
    doomed = [t for t in admin.list_topics(timeout=10).topics if t.startswith(s.topic_prefix)]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result(30)
    for future in admin.delete_consumer_groups(s.groups, request_timeout=10).values():
        try:
            future.result(10)
        except Exception:  # a group that never committed does not exist
            continue


def _delete_es(s: _Scratch) -> None:
    es = Elasticsearch(s.elasticsearch, request_timeout=30)
    try:
        # By name: the shared cluster refuses wildcard deletes.
        for index in es.indices.get(index=f"{s.index_prefix}-*", allow_no_indices=True):
            es.indices.delete(index=index)
        es.options(ignore_status=404).indices.delete_index_template(name=s.index_prefix)
    finally:
        es.close()
