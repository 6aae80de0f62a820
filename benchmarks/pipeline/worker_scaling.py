"""`pulse worker --workers K` on Kafka, K = 1 and 2: `python -m benchmarks.pipeline.worker_scaling`.

Each round gets a fresh scratch (database with the catalog seeded, topics with the default six
partitions, consumer groups, index prefix), so every event is new to it. The N collected events
(as entry_service publishes them, keyed by visitor) are produced to the events topic BEFORE the
clock starts; then the real `pulse worker --workers K` is started as a process, and the clock
runs from its start until all N are stored in Postgres (`event_occurrences`), and, separately,
until all N are searchable in the analytics index (refreshed at each poll). So every figure
includes the process start, the imports, the group joins and the first assignment: what an
operator gets from starting more processes on a backlog. The drain rate (from the first stored
event to the last) leaves the start-up out.

Rounds alternate the order (K = 1, 2, then 2, 1, ...) so the machine's load hits both alike.
The report gives each round, the median per K, the ratio of the medians K=2 / K=1, the load
average and nproc. Exit code 0 when it ran, 1 on an error, 2 without the engines.
"""

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, text

from benchmarks.common.facts import out
from benchmarks.common.http_load import REPO, free_port, server_env
from benchmarks.common.scratch import Engines, Scratch, SetupError, scratch
from benchmarks.pipeline.baselines import raw_kafka_produce
from benchmarks.pipeline.dataset import Catalog, generate_events, kafka_messages, seed_catalog
from common_messaging import OutgoingMessage
from common_messaging.bus import BusSettings
from datastore.engine import make_engine
from servicekit.database import Database

POLL_S = 0.25
PULSE = str(Path(sys.executable).with_name("pulse"))


class WorkerStalled(RuntimeError):
    """The workers did not store or index the N events, exactly once each, in time."""


@dataclass(frozen=True)
class Round:
    workers: int
    events: int
    ready_s: float  # process start -> first /readyz 200 (some process up, its loops started)
    first_stored_s: float  # process start -> the first event in Postgres
    stored_s: float  # process start -> all N in Postgres
    indexed_s: float  # process start -> all N searchable in the index
    exit_code: int

    @property
    def stored_rate(self) -> float:
        return self.events / self.stored_s

    @property
    def indexed_rate(self) -> float:
        return self.events / self.indexed_s

    @property
    def drain_rate(self) -> float:
        return self.events / max(self.stored_s - self.first_stored_s, 1e-9)


def _worker_env(s: Scratch, tmp: Path) -> dict[str, str]:
    return server_env(
        {
            "PULSE_DATABASE_URL": s.database_url,
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": s.engines.kafka,
            "PULSE_KAFKA_TOPIC_PREFIX": s.topic_prefix,
            "PULSE_ELASTICSEARCH_URL": s.engines.elasticsearch,
            "PULSE_ELASTICSEARCH_INDEX_PREFIX": s.es_prefix,
            "PULSE_REDIS_URL": s.engines.redis,
            # Groups of this round only (Kafka groups are cluster-wide; cleanup deletes them).
            "PULSE_CONSUMER_GROUP": s.consumer_group,
            "PULSE_INDEX_CONSUMER_GROUP": s.consumer_group + "-index",
            "PULSE_ENTRIES_CONSUMER_GROUP": s.consumer_group + "-entries",
            "PULSE_DATA_DIR": str(tmp / "worker-data"),
            "PULSE_LOG_LEVEL": "WARNING",
        }
    )


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return -9


def _round(
    s: Scratch, catalog: Catalog, backlog: list[OutgoingMessage], workers: int, timeout_s: float
) -> Round:
    n = len(backlog)
    seeding = Database(make_engine(s.database_url))
    with seeding.unit_of_work() as session:
        seed_catalog(session, catalog, datetime.now(UTC))
    seeding.dispose()
    # The backlog, produced before the clock (the same events in every round).
    raw_kafka_produce(s.engines.kafka, s.topic_prefix, backlog)
    pg = create_engine(s.database_url)
    es = Elasticsearch(s.engines.elasticsearch, request_timeout=30)
    pattern = f"{s.es_prefix}-*"
    with tempfile.TemporaryDirectory(prefix="worker-scaling-") as tmp:
        log = Path(tmp) / "worker.log"
        port = free_port()
        args = [PULSE, "worker", "--host", "127.0.0.1", "--port", str(port)]
        args += ["--workers", str(workers)]
        with log.open("w") as sink:
            started = time.perf_counter()
            proc = subprocess.Popen(
                args, stdout=sink, stderr=subprocess.STDOUT, env=_worker_env(s, Path(tmp)), cwd=REPO
            )
        try:
            ready = first = stored = indexed = None
            deadline = started + timeout_s
            while indexed is None or stored is None:
                if proc.poll() is not None:
                    raise WorkerStalled(
                        f"pulse worker exited {proc.returncode}:\n{log.read_text()}"
                    )
                if time.perf_counter() > deadline:
                    raise WorkerStalled(
                        f"K={workers}: within {timeout_s:.0f} s, stored at "
                        f"{stored}, indexed at {indexed}:\n{log.read_text()[-3000:]}"
                    )
                now = time.perf_counter() - started
                if ready is None and _ready(port):
                    ready = now
                if stored is None:
                    with pg.connect() as conn:
                        rows = int(conn.scalar(text("SELECT count(*) FROM event_occurrences")) or 0)
                    if rows and first is None:
                        first = now
                    if rows >= n:
                        stored = now
                if indexed is None:
                    es.indices.refresh(index=pattern, allow_no_indices=True)
                    if es.count(index=pattern, allow_no_indices=True)["count"] >= n:
                        indexed = now
                time.sleep(POLL_S)
        finally:
            exit_code = _stop(proc)
        with pg.connect() as conn:
            rows, distinct = conn.execute(
                text("SELECT count(*), count(DISTINCT event_id) FROM event_occurrences")
            ).one()
        docs = int(es.count(index=pattern, allow_no_indices=True)["count"])
    pg.dispose()
    es.close()
    if (rows, distinct, docs) != (n, n, n):
        raise WorkerStalled(f"K={workers}: {rows} rows ({distinct} distinct), {docs} documents")
    assert ready is not None and first is not None
    return Round(workers, n, ready, first, stored, indexed, exit_code)


def _order(ks: Sequence[int], rounds: int) -> list[int]:
    """K = 1, 2, then 2, 1, ...: each K as often early as late in the run."""
    return [k for r in range(rounds) for k in (ks if r % 2 == 0 else list(reversed(ks)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline.worker_scaling")
    p.add_argument("--events", type=int, default=20_000, help="backlog per round (default 20000)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of each K (default 2)")
    p.add_argument(
        "--workers", default="1,2", help="the K to compare, the first is the baseline (1,2)"
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per round (300)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # A refresh while the round's first index is being created answers 503 once, retried.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    ks = [int(k) for k in args.workers.split(",")]
    try:
        engines = Engines.from_env()
    except SetupError as exc:
        sys.stderr.write(f"benchmark cannot run: {exc}\n")
        return 2
    try:
        catalog = Catalog()
        backlog = kafka_messages(generate_events(catalog, args.events))
        partitions = BusSettings().kafka_partitions
        out(f"{args.events:,} events per round, backlog produced before the clock; topics of "
            f"{partitions} partitions; `pulse worker --workers K` for K in {ks}, "
            f"{args.rounds} rounds each")  # fmt: skip
        out(f"nproc {os.cpu_count()}, load average at start (1/5/15 min): {_load()}")
        measured: dict[int, list[Round]] = {k: [] for k in ks}
        for i, k in enumerate(_order(ks, args.rounds)):
            with scratch(engines) as s:
                r = _round(s, catalog, backlog, k, args.timeout)
            measured[k].append(r)
            out(f"  round {i + 1}: K={k}  ready {r.ready_s:5.1f} s, first stored "
                f"{r.first_stored_s:5.1f} s, all stored {r.stored_s:5.1f} s "
                f"({r.stored_rate:6,.0f} events/s; drain {r.drain_rate:6,.0f}/s), all indexed "
                f"{r.indexed_s:5.1f} s ({r.indexed_rate:6,.0f} events/s); exit {r.exit_code}; "
                f"load {_load()}")  # fmt: skip
        _report(measured, ks[0])
        return 0
    except Exception:
        traceback.print_exc()
        return 1


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _report(measured: dict[int, list[Round]], base: int) -> None:
    medians = {
        k: (
            statistics.median(r.stored_rate for r in rs),
            statistics.median(r.indexed_rate for r in rs),
            statistics.median(r.drain_rate for r in rs),
        )
        for k, rs in measured.items()
    }
    for k, (stored, indexed, drain) in medians.items():
        ratio = ""
        if k != base:
            b = medians[base]
            ratio = (f"; K={k} / K={base}: stored {stored / b[0]:.2f}, indexed "
                     f"{indexed / b[1]:.2f}, drain {drain / b[2]:.2f}")  # fmt: skip
        out(f"  median K={k}: stored {stored:,.0f} events/s, indexed {indexed:,.0f} events/s, "
            f"drain {drain:,.0f} events/s{ratio}")  # fmt: skip
    out(f"  nproc {os.cpu_count()}, load average now (1/5/15 min): {_load()}")


if __name__ == "__main__":
    sys.exit(main())
