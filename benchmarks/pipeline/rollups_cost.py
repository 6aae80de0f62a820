"""What the dashboard rollups cost the consumer: `python -m benchmarks.pipeline.rollups_cost`.

Two measures over the same N events, each with the rollups off and on in alternating rounds
(off, on, on, off, ...) so the machine's load hits both alike, every round into a fresh scratch
(database, topics, index prefix) so every event is new:

- **the consumer** (the target's measure): the store group as `pulse worker` runs it
  (OccurrenceConsumer + BatchWriter: poll the collected envelopes from Kafka, decode, enrich,
  Postgres, the enriched batch to the index feed topic, commit offsets) until all N are
  committed. The envelopes are produced before the clock starts. The index group is left out:
  it reads the feed, which is the same with the rollups on or off.
- **the store path alone** (`--store-path`; an upper bound of the rollups' share): BatchWriter
  called in a loop on already-enriched events in the same batches, with no Kafka poll, decode or
  commit, which cost the same either way.

Wall-clock throughput on a shared two-core machine moves by tens of percent between rounds, so
each round also takes the CPU it used: this process's (the consumer and its librdkafka threads,
the rollups' batch building and sketch merges) and that of the Postgres backends that served it
(read from /proc by pid), as CPU milliseconds per 1,000 events. The CPU cost is the throughput
the rollups take from a CPU-bound consumer: 1 - (CPU per event off) / (CPU per event on).
Every round runs with the collector setting `pulse worker` runs with (`PULSE_CORE_GC_TUNING`,
default on; `--default-gc` for Python's default collector).
Target: rollups cost <= 20 %. Exit code 0 when it ran (the report says PASS or MISS), 1 on an
error, 2 without the engines.
"""

import argparse
import logging
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from analytics_index.feed import IndexFeed
from benchmarks.common.facts import out
from benchmarks.common.gc_clock import gc_clock
from benchmarks.common.process_cpu import cpu_seconds
from benchmarks.common.scratch import Engines, Scratch, SetupError, scratch
from benchmarks.pipeline.baselines import raw_kafka_produce
from benchmarks.pipeline.dataset import Catalog, generate_events, kafka_messages, seed_catalog
from common_messaging import EVENTS_RAW, EventOccurred
from common_messaging.bus import open_consumer, open_publisher
from core_service.consumer.loop import OccurrenceConsumer
from core_service.consumer.writers import BatchWriter
from core_service.settings import CoreSettings
from core_service.wiring import occurrence_service
from datastore.engine import make_engine
from rollups.writer import record_occurrences
from servicekit.database import Database
from servicekit.server_gc import serving_gc

COST_TARGET = 0.20
TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Round:
    events: int  # timed
    seconds: float  # wall clock
    client_cpu: float  # this process's CPU seconds
    server_cpu: float  # the Postgres backends' CPU seconds
    gc_s: float = 0.0  # of the process's, the cyclic garbage collector's
    batches: int = 0  # store batches written

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_ms_per_1000(self) -> float:
        return (self.client_cpu + self.server_cpu) * 1e6 / self.events


class ConsumerStalled(RuntimeError):
    """The store group did not commit every event in time."""


def _backends_cpu(database: Database) -> float:
    """CPU seconds so far of the client backends on this round's database (a fresh one: every
    backend on it serves this round)."""
    with database.reader() as session:
        pids = session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend'"
            )
        ).scalars()
        return sum(cpu_seconds(pid) for pid in pids)


def _writer(database: Database, s: Scratch, on: bool) -> tuple[BatchWriter, Callable[[], None]]:
    publisher = open_publisher(s.bus())
    writer = BatchWriter(
        database,
        IndexFeed(publisher, s.es_prefix),  # the feed the index group reads, as in production
        occurrence_service(CoreSettings()),
        index_engine="kafka",
        rollups=record_occurrences if on else None,
    )
    return writer, publisher.close


def _store_path(s: Scratch, events: Sequence[EventOccurred], on: bool, batch: int) -> Round:
    """BatchWriter in a loop over already-enriched events."""
    database = Database(make_engine(s.database_url))
    writer, close = _writer(database, s, on)
    try:
        with gc_clock() as clock:
            cpu, started = time.process_time(), time.perf_counter()
            for at in range(0, len(events), batch):
                writer(events[at : at + batch])
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        # The seeding's backend is gone: these started with the loop.
        batches = -(-len(events) // batch)
        return Round(len(events), elapsed, cpu, _backends_cpu(database), clock.total_s, batches)
    finally:
        close()
        database.dispose()


class _Counted:
    """The store group's writer, counting the events it stored (a message carries several)."""

    def __init__(self, writer: Callable[[Sequence[EventOccurred]], None]) -> None:
        self._writer = writer
        self.events = 0

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        self._writer(events)
        self.events += len(events)


def _consumer_round(s: Scratch, events: list[EventOccurred], on: bool, batch: int) -> Round:
    """The store group from Kafka until all N are committed; the messages produced first, as
    the edge publishes them (a request's events of one visitor in one message)."""
    messages = kafka_messages(events)
    n = len(messages)
    raw_kafka_produce(s.engines.kafka, s.topic_prefix, messages)
    database = Database(make_engine(s.database_url))
    writer, close = _writer(database, s, on)
    stored = _Counted(writer)
    publisher = open_publisher(s.bus())
    bus = open_consumer(s.bus(), s.consumer_group, [EVENTS_RAW])
    consumer = OccurrenceConsumer(
        bus, publisher, stored, writer.healthy, batch_size=batch, poll_timeout_s=0.5
    )
    try:
        # The group join, the assignment and the first batch are before the clock.
        deadline = time.monotonic() + TIMEOUT_S
        first = 0
        while first == 0 and time.monotonic() < deadline:
            first = consumer.step()
        before = stored.events
        server = _backends_cpu(database)
        with gc_clock() as clock:
            cpu, started = time.process_time(), time.perf_counter()
            committed, batches = first, 0
            while committed < n and time.monotonic() < deadline:
                got = consumer.step()
                committed += got
                batches += got > 0
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if committed != n:
            raise ConsumerStalled(f"committed {committed} of {n} within {TIMEOUT_S:.0f} s")
        server = _backends_cpu(database) - server
        return Round(stored.events - before, elapsed, cpu, server, clock.total_s, batches)
    finally:
        bus.close()
        publisher.close()
        close()
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline.rollups_cost")
    p.add_argument("--events", type=int, default=20_000, help="events per round (default 20000)")
    p.add_argument("--rounds", type=int, default=4, help="rounds of each way (default 4)")
    p.add_argument(
        "--batch",
        type=int,
        default=CoreSettings().consumer_batch_size,
        help="messages per batch (default: the store group's, PULSE_CONSUMER_BATCH_SIZE)",
    )
    p.add_argument(
        "--default-gc",
        action="store_true",
        help="run with Python's default garbage collector, not the worker's setting",
    )
    p.add_argument(
        "--store-path",
        action="store_true",
        help="also measure the store path alone (BatchWriter in a loop, no Kafka): an upper bound",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        engines = Engines.from_env()
    except SetupError as exc:
        sys.stderr.write(f"benchmark cannot run: {exc}\n")
        return 2
    try:
        catalog = Catalog()
        events = generate_events(catalog, args.events)
        tuned = CoreSettings().core_gc_tuning and not args.default_gc
        setting = "the worker's" if tuned else "the default"
        out(f"{args.events:,} events per round, batches of {args.batch}, {args.rounds} rounds "
            f"each way, {setting} garbage collector setting")  # fmt: skip
        ways: list[tuple[str, Callable[[Scratch, bool], Round]]] = [
            ("the consumer: the store group from Kafka (poll, decode, enrich, Postgres, feed, "
             "commit)", lambda s, on: _consumer_round(s, events, on, args.batch)),
        ]  # fmt: skip
        if args.store_path:
            ways.append(("the store path alone: BatchWriter in a loop (an upper bound)",
                         lambda s, on: _store_path(s, events, on, args.batch)))  # fmt: skip
        for title, measure in ways:
            out(title)
            with serving_gc(tuned):
                measured = _rounds(engines, catalog, args.rounds, measure)
            _report(measured)
        return 0
    except Exception:
        traceback.print_exc()
        return 1


def _rounds(
    engines: Engines, catalog: Catalog, rounds: int, measure: Callable[[Scratch, bool], Round]
) -> dict[bool, list[Round]]:
    rounds_of: dict[bool, list[Round]] = {False: [], True: []}
    for i in range(2 * rounds):
        on = i % 4 in (1, 2)  # off, on, on, off, ...
        with scratch(engines) as s:
            seeding = Database(make_engine(s.database_url))
            with seeding.unit_of_work() as session:
                seed_catalog(session, catalog, datetime.now(UTC))
            seeding.dispose()
            r = measure(s, on)
        rounds_of[on].append(r)
        out(f"  round {i + 1}: rollups {'on ' if on else 'off'} {r.rate:8,.0f} events/s, CPU "
            f"{r.client_cpu * 1e6 / r.events:5.1f} (of it GC {r.gc_s * 1e6 / r.events:4.1f}) + "
            f"Postgres {r.server_cpu * 1e6 / r.events:5.1f} ms per 1,000 events; "
            f"{r.events / max(r.batches, 1):,.0f} events a batch")  # fmt: skip
    return rounds_of


def _report(rounds_of: dict[bool, list[Round]]) -> None:
    off = statistics.median(r.rate for r in rounds_of[False])
    on_ = statistics.median(r.rate for r in rounds_of[True])
    cpu_off = statistics.median(r.cpu_ms_per_1000 for r in rounds_of[False])
    cpu_on = statistics.median(r.cpu_ms_per_1000 for r in rounds_of[True])
    cost, cpu_cost = 1 - on_ / off, 1 - cpu_off / cpu_on
    out(f"  load average now (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out(f"  median events/s: rollups off {off:,.0f}, on {on_:,.0f}; the rollups cost "
        f"{cost:.1%} of the throughput -- target <= {COST_TARGET:.0%}  "
        f"{_verdict(cost)}")  # fmt: skip
    out(f"  median CPU ms per 1,000 events (process + Postgres): off {cpu_off:,.1f}, on "
        f"{cpu_on:,.1f}; the rollups cost {cpu_cost:.1%} of the CPU-bound throughput -- "
        f"target <= {COST_TARGET:.0%}  {_verdict(cpu_cost)}")  # fmt: skip


def _verdict(cost: float) -> str:
    return "PASS" if cost <= COST_TARGET else "MISS"


if __name__ == "__main__":
    sys.exit(main())
