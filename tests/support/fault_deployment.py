"""One Pulse deployment per fault test: a scratch Postgres database, topics and an index prefix
of its own, `pulse entry` and `pulse worker` as real processes. What a test kills is its own;
the checks read the stores the way an operator would."""

import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from elasticsearch import Elasticsearch
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from common_messaging import ENTRIES_DLQ, EVENTS_DLQ, EVENTS_ENRICHED_DLQ
from datastore.engine import make_engine
from datastore.schema import EventOccurrence, UserSummary
from migrations.runner import upgrade
from servicekit.database import Database
from tests.e2e.process import PULSE, clean_env, free_ports, wait_ready
from tests.engines import engine_url, scratch_postgres_database
from tests.support.tcp_outage import TcpOutage

ADMIN_TOKEN = "adm-fault-tests"


@dataclass
class Service:
    name: str
    url: str
    log: Path
    args: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        wait_ready(self.url, self.proc, self.log, timeout_s=90)

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} is not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclass
class Deployment:
    env: dict[str, str]
    db: Database
    es_url: str
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def index_prefix(self) -> str:
        return self.env["PULSE_ELASTICSEARCH_INDEX_PREFIX"]

    def stored_events(self, event_ids: set[str]) -> tuple[int, set[str]]:
        """(rows of these events in Postgres, counting any twice; the distinct ids)."""
        ids = [uuid.UUID(i) for i in event_ids]
        with self.db.reader() as s:
            found = s.scalars(
                select(EventOccurrence.event_id).where(EventOccurrence.event_id.in_(ids))
            ).all()
        return len(found), {str(i) for i in found}

    def counted_events(self) -> int:
        """Events the user summaries counted: a message stored twice would be counted twice."""
        with self.db.reader() as s:
            return int(s.scalar(select(func.coalesce(func.sum(UserSummary.event_count), 0))) or 0)

    def all_event_rows(self) -> int:
        with self.db.reader() as s:
            return int(s.scalar(select(func.count()).select_from(EventOccurrence)) or 0)

    def indexed_events(self) -> list[str]:
        """Every event id in the deployment's indices, once per document."""
        es = Elasticsearch(self.es_url, request_timeout=30)
        try:
            pattern = f"{self.index_prefix}-*"
            es.options(ignore_status=404).indices.refresh(index=pattern, allow_no_indices=True)
            found = es.search(
                index=pattern,
                size=10_000,
                source=["event_id"],
                query={"match_all": {}},
                allow_no_indices=True,
            )
            return [hit["_source"]["event_id"] for hit in found["hits"]["hits"]]
        finally:
            es.close()

    def assert_stored_once(self, acknowledged: set[str], timeout_s: float) -> None:
        """Each acknowledged event: one row in Postgres, one document in the index, counted
        once in the user summaries; and nothing that was not posted."""
        wait_until(
            lambda: self.stored_events(acknowledged)[0] >= len(acknowledged),
            timeout_s,
            f"{len(acknowledged)} acknowledged events in Postgres",
        )
        rows, distinct = self.stored_events(acknowledged)
        assert (rows, distinct) == (len(acknowledged), acknowledged)
        wait_until(
            lambda: len(self.indexed_events()) >= len(acknowledged),
            timeout_s,
            f"{len(acknowledged)} acknowledged events in the index",
        )
        assert sorted(self.indexed_events()) == sorted(acknowledged)  # each once, nothing else
        # A batch stored twice would show here: the summaries count each event they are given.
        assert self.counted_events() == self.all_event_rows() == len(acknowledged)

    def dead_lettered(self) -> int:
        """Messages ever written to the deployment's dead-letter topics (their end offsets)."""
        prefix = self.env["PULSE_KAFKA_TOPIC_PREFIX"]
        probe = Consumer(
            {"bootstrap.servers": self.env["PULSE_KAFKA_BOOTSTRAP_SERVERS"], "group.id": "probe"}
        )
        total = 0
        try:
            for topic in (prefix + t for t in (EVENTS_DLQ, EVENTS_ENRICHED_DLQ, ENTRIES_DLQ)):
                partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
                for partition in partitions:
                    _low, high = probe.get_watermark_offsets(
                        TopicPartition(topic, partition), timeout=10
                    )
                    total += high
        finally:
            probe.close()
        return total


@contextmanager
def deployment(
    tmp: Path,
    engines: Mapping[str, str],
    *,
    entry_processes: int = 1,
    worker_processes: int = 1,
    postgres: TcpOutage | None = None,
    elasticsearch: TcpOutage | None = None,
    **settings: str,
) -> Iterator[Deployment]:
    """`engines`: the PULSE_KAFKA_* / PULSE_REDIS_URL of the engines under test (the replicated
    stack's); Postgres and Elasticsearch are the shared stack's, in scratch names, reached
    through `postgres` / `elasticsearch` when given (relays the test takes down). The test's
    own checks read them directly."""
    run = uuid.uuid4().hex[:8]
    with scratch_postgres_database() as url, ExitStack() as stack:
        upgrade(url)
        es_url = engine_url("elasticsearch")
        env = clean_env(
            {
                "PULSE_DATABASE_URL": _through(url, postgres),
                "PULSE_ELASTICSEARCH_URL": _through(es_url, elasticsearch),
                "PULSE_ELASTICSEARCH_INDEX_PREFIX": f"pulse-fault-{run}",
                "PULSE_KAFKA_TOPIC_PREFIX": f"fault-{run}.",
                "PULSE_KAFKA_PARTITIONS": "3",
                "PULSE_CONSUMER_GROUP": f"core-{run}",
                "PULSE_INDEX_CONSUMER_GROUP": f"index-{run}",
                "PULSE_ENTRIES_CONSUMER_GROUP": f"entries-{run}",
                "PULSE_DATA_DIR": str(tmp / "data"),
                "PULSE_ADMIN_TOKEN": ADMIN_TOKEN,
                "PULSE_ENTRY_RATE_LIMIT_PER_IP": "1000000",
                "PULSE_ENTRY_RATE_LIMIT_PER_USER": "1000",
                "PULSE_LOG_LEVEL": "WARNING",
                # A native crash of a process shows its threads' stacks in its log.
                "PYTHONFAULTHANDLER": "1",
                **engines,
                **settings,
            }
        )
        migrated = subprocess.run(
            [PULSE, "migrate"], env=env, capture_output=True, text=True, timeout=180, check=False
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        stack.callback(_drop_indices, es_url, env["PULSE_ELASTICSEARCH_INDEX_PREFIX"])
        db = Database(make_engine(url))
        stack.callback(db.dispose)
        found = Deployment(env, db, es_url)
        names = ["worker"] + [f"entry-{i}" for i in range(entry_processes)]
        for name, port in zip(names, free_ports(len(names)), strict=True):
            command = "worker" if name == "worker" else "entry"
            args = [PULSE, command, "--host", "127.0.0.1", "--port", str(port)]
            if name == "worker" and worker_processes > 1:
                args += ["--workers", str(worker_processes)]
            service = Service(name, f"http://127.0.0.1:{port}", tmp / f"{name}.log", args, env)
            service.start()
            stack.callback(service.stop)
            found.services[name] = service
        yield found


def _through(url: str, relay: TcpOutage | None) -> str:
    if relay is None:
        return url
    return make_url(url).set(port=relay.port).render_as_string(hide_password=False)


def _drop_indices(es_url: str, prefix: str) -> None:
    es = Elasticsearch(es_url)
    try:
        # Names, not a wildcard: deleting by wildcard is refused (destructive_requires_name).
        for index in es.indices.get(index=f"{prefix}-*", allow_no_indices=True):
            es.indices.delete(index=index)
        es.options(ignore_status=404).indices.delete_index_template(name=prefix)
    finally:
        es.close()


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll `check` until true; returns the seconds it took, fails the test past `timeout_s`."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s:.0f} s: {what}"
        time.sleep(0.5)
    return time.monotonic() - start
