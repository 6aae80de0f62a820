"""`pulse worker --workers K` on Kafka, K = 1 and 2: `python -m benchmarks.pipeline.worker_scaling`.

Each round gets a fresh scratch (database with the catalog seeded, topics with the default six
partitions, consumer groups, index prefix), so every event is new to it. The N collected events
(as entry_service publishes them: a message per request and visitor, keyed by visitor) are
produced to the events topic BEFORE the clock starts; then the real `pulse worker --workers K`
is started as a process, and the clock runs from its start until all N are stored in Postgres
(`event_occurrences`), and, separately, until all N are searchable in the analytics index
(refreshed at each poll). So every figure includes the process start, the imports, the group
joins and the first assignment: what an operator gets from starting more processes on a
backlog. The drain rate (from the first stored event to the last) leaves the start-up out.
Wall clock on a shared two-core machine moves with whatever else runs, so each round also takes
the CPU the worker processes used during the drain and the Postgres backends that served them
(from /proc), per 1,000 events, and how often a poll found a backend of the round's database
waiting on a lock (the processes share rows, e.g. the dashboard rollups' buckets), and the
whole machine's CPU busy share during the drain (/proc/stat): near 100 %, more processes have
no core to run on.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, create_engine, text

from benchmarks.common.facts import out
from benchmarks.common.http_load import REPO, free_port
from benchmarks.common.process_cpu import cpu_seconds
from benchmarks.common.scratch import Engines, Scratch, SetupError, scratch
from benchmarks.pipeline.baselines import raw_kafka_produce
from benchmarks.pipeline.dataset import Catalog, generate_events, kafka_messages, seed_catalog
from benchmarks.pipeline.freshness import worker_env
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
    cpu_s: float  # the worker processes' CPU seconds, from the first stored event to done
    postgres_cpu_s: float  # the Postgres backends' that served them
    lock_wait_share: float  # of the polls until all stored, those with a backend waiting on a lock
    first_rows: int  # already stored when the first stored event was seen
    machine_busy: float  # the whole machine's CPU busy share during the drain (all cores)

    @property
    def cpu_ms_per_1000(self) -> tuple[float, float]:
        """The workers' during the drain, per event drained; Postgres's, per event."""
        drained = max(self.events - self.first_rows, 1)
        return self.cpu_s * 1e6 / drained, self.postgres_cpu_s * 1e6 / self.events

    @property
    def stored_rate(self) -> float:
        return self.events / self.stored_s

    @property
    def indexed_rate(self) -> float:
        return self.events / self.indexed_s

    @property
    def drain_rate(self) -> float:
        drained = self.events - self.first_rows
        return drained / max(self.stored_s - self.first_stored_s, 1e-9)


def _env(s: Scratch, tmp: Path) -> dict[str, str]:
    # Groups of this round only (Kafka groups are cluster-wide; cleanup deletes them).
    extra = {"PULSE_REDIS_URL": s.engines.redis}
    return worker_env(s, tmp, topic_prefix=s.topic_prefix, group=s.consumer_group, extra=extra)


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


@dataclass
class _Progress:
    """What the poller saw of one round, seconds from the process start."""

    n: int
    ready: float | None = None
    first: float | None = None
    first_rows: int = 0  # stored by the first poll that found any
    stored: float | None = None
    indexed: float | None = None
    polls: int = 0
    lock_waits: int = 0  # polls that found a backend of the round's database waiting on a lock

    @property
    def done(self) -> bool:
        return self.stored is not None and self.indexed is not None


_POSTGRES_NOW = text(
    "SELECT (SELECT count(*) FROM event_occurrences), "
    "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock')"
)
_BACKENDS = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
)


def _poll(
    seen: _Progress, now: float, port: int, pg: Engine, es: Elasticsearch, pattern: str
) -> None:
    seen.polls += 1
    if seen.ready is None and _ready(port):
        seen.ready = now
    if seen.stored is None:
        with pg.connect() as conn:
            rows, waiting = conn.execute(_POSTGRES_NOW).one()
        seen.lock_waits += waiting > 0
        if rows and seen.first is None:
            seen.first, seen.first_rows = now, rows
        if rows >= seen.n:
            seen.stored = now
    if seen.indexed is None:
        es.indices.refresh(index=pattern, allow_no_indices=True)
        if es.count(index=pattern, allow_no_indices=True)["count"] >= seen.n:
            seen.indexed = now


def _workers_cpu(proc: subprocess.Popen[bytes], pg: Engine) -> tuple[float, float]:
    """CPU seconds so far of the worker processes (the supervisor and its children), and of the
    Postgres backends serving them (the round's database is fresh: all of its backends are
    theirs)."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    workers = sum(cpu_seconds(p.pid) for p in family)
    with pg.connect() as conn:
        backends = sum(cpu_seconds(pid) for pid in conn.execute(_BACKENDS).scalars())
    return workers, backends


def _machine_cpu() -> tuple[float, float]:
    """The machine's CPU jiffies so far, (busy, total) over all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user .. steal; guest time is already in user
    return float(total - idle), float(total)


def _round(
    s: Scratch,
    catalog: Catalog,
    backlog: list[OutgoingMessage],
    n: int,
    workers: int,
    timeout_s: float,
) -> Round:
    seeding = Database(make_engine(s.database_url))
    with seeding.unit_of_work() as session:
        seed_catalog(session, catalog, datetime.now(UTC))
    seeding.dispose()
    # The backlog of n events (a message per request and visitor, as the edge publishes them),
    # produced before the clock; the same in every round.
    raw_kafka_produce(s.engines.kafka, s.topic_prefix, backlog)
    pg = create_engine(s.database_url)
    es = Elasticsearch(s.engines.elasticsearch, request_timeout=30)
    pattern = f"{s.es_prefix}-*"
    seen = _Progress(n)
    with tempfile.TemporaryDirectory(prefix="worker-scaling-") as tmp:
        log = Path(tmp) / "worker.log"
        port = free_port()
        args = [PULSE, "worker", "--host", "127.0.0.1", "--port", str(port)]
        args += ["--workers", str(workers)]
        with log.open("w") as sink:
            started = time.perf_counter()
            proc = subprocess.Popen(
                args, stdout=sink, stderr=subprocess.STDOUT, env=_env(s, Path(tmp)), cwd=REPO
            )
        try:
            at_first: tuple[float, float] | None = None
            machine_at_first: tuple[float, float] | None = None
            while not seen.done:
                if proc.poll() is not None:
                    raise WorkerStalled(
                        f"pulse worker exited {proc.returncode}:\n{log.read_text()}"
                    )
                if time.perf_counter() - started > timeout_s:
                    raise WorkerStalled(
                        f"K={workers}: not done within {timeout_s:.0f} s ({seen}):\n"
                        f"{log.read_text()[-3000:]}"
                    )
                _poll(seen, time.perf_counter() - started, port, pg, es, pattern)
                if at_first is None and seen.first is not None:
                    at_first, machine_at_first = _workers_cpu(proc, pg), _machine_cpu()
                time.sleep(POLL_S)
            assert at_first is not None and machine_at_first is not None
            at_done, machine_at_done = _workers_cpu(proc, pg), _machine_cpu()
            busy, total = (b - a for a, b in zip(machine_at_first, machine_at_done, strict=True))
            # The drain's CPU: from the first stored batch on, the start-up (imports, joins) left
            # out; the Postgres backends' are counted whole (the seeding's backend is gone).
            cpu, backends_cpu = at_done[0] - at_first[0], at_done[1]
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
    assert seen.ready is not None and seen.first is not None
    assert seen.stored is not None and seen.indexed is not None
    return Round(
        workers,
        n,
        seen.ready,
        seen.first,
        seen.stored,
        seen.indexed,
        exit_code,
        cpu,
        backends_cpu,
        seen.lock_waits / max(seen.polls, 1),
        seen.first_rows,
        busy / max(total, 1e-9),
    )


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
        out(f"{args.events:,} events ({len(backlog):,} messages) per round, backlog produced "
            f"before the clock; topics of "
            f"{partitions} partitions; `pulse worker --workers K` for K in {ks}, "
            f"{args.rounds} rounds each")  # fmt: skip
        out(f"nproc {os.cpu_count()}, load average at start (1/5/15 min): {_load()}")
        measured: dict[int, list[Round]] = {k: [] for k in ks}
        for i, k in enumerate(_order(ks, args.rounds)):
            with scratch(engines) as s:
                r = _round(s, catalog, backlog, args.events, k, args.timeout)
            measured[k].append(r)
            out(f"  round {i + 1}: K={k}  ready {r.ready_s:5.1f} s, first stored "
                f"{r.first_stored_s:5.1f} s, all stored {r.stored_s:5.1f} s "
                f"({r.stored_rate:6,.0f} events/s; drain {r.drain_rate:6,.0f}/s), all indexed "
                f"{r.indexed_s:5.1f} s ({r.indexed_rate:6,.0f} events/s); CPU ms per 1,000 events: "
                f"workers {r.cpu_ms_per_1000[0]:,.0f}, Postgres {r.cpu_ms_per_1000[1]:,.0f}; "
                f"lock waits in {r.lock_wait_share:.0%} of polls; machine CPU busy in the drain "
                f"{r.machine_busy:.0%}; exit {r.exit_code}; "
                f"load {_load()}")  # fmt: skip
        _report(measured, ks[0])
        return 0
    except Exception:
        traceback.print_exc()
        return 1


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _report(measured: dict[int, list[Round]], base: int) -> None:
    def median(k: int, figure: Callable[[Round], float]) -> float:
        return statistics.median(figure(r) for r in measured[k])

    for k in measured:
        stored, indexed = median(k, lambda r: r.stored_rate), median(k, lambda r: r.indexed_rate)
        drain = median(k, lambda r: r.drain_rate)
        ratio = ""
        if k != base:
            b_stored, b_indexed = (median(base, lambda r: r.stored_rate),
                                   median(base, lambda r: r.indexed_rate))  # fmt: skip
            b_drain = median(base, lambda r: r.drain_rate)
            ratio = (f"; K={k} / K={base}: stored {stored / b_stored:.2f}, indexed "
                     f"{indexed / b_indexed:.2f}, drain {drain / b_drain:.2f}")  # fmt: skip
        out(f"  median K={k}: stored {stored:,.0f} events/s, indexed {indexed:,.0f} events/s, "
            f"drain {drain:,.0f} events/s; CPU ms per 1,000 events: workers "
            f"{median(k, lambda r: r.cpu_ms_per_1000[0]):,.0f}, Postgres "
            f"{median(k, lambda r: r.cpu_ms_per_1000[1]):,.0f}; machine CPU busy in the drain "
            f"{median(k, lambda r: r.machine_busy):.0%}{ratio}")  # fmt: skip
    out(f"  nproc {os.cpu_count()}, load average now (1/5/15 min): {_load()}")


if __name__ == "__main__":
    sys.exit(main())
