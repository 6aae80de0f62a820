"""What the dashboard rollups cost the consumer: `python -m benchmarks.pipeline.rollups_cost`.

The consumer's store group's batch (BatchWriter: enrichment and the Postgres unit of work, then
the enriched batch to the index feed topic, as `pulse worker` wires it) over the same N events
in batches of 500, with the
rollups off and on, each into its own scratch database and index prefix, in alternating rounds
(off, on, on, off, ...) so the machine's load hits both alike. Kafka's poll and commit are left
out: they cost the same either way, so the share the rollups take here is an upper bound of
their share of the whole consumer. Target: rollups cost <= 20 % (on / off >= 0.8).
Exit code 0 when it ran (the report says PASS or MISS), 1 on an error, 2 without the engines.
"""

import argparse
import logging
import os
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime

from analytics_index.feed import IndexFeed
from benchmarks.common.facts import out
from benchmarks.common.scratch import Engines, Scratch, SetupError, scratch
from benchmarks.pipeline.dataset import Catalog, generate_events, seed_catalog
from common_messaging import EventOccurred
from common_messaging.bus import open_publisher
from core_service.consumer.writers import BatchWriter
from core_service.settings import CoreSettings
from core_service.wiring import occurrence_service
from datastore.engine import make_engine
from rollups.writer import record_occurrences
from servicekit.database import Database

BATCH = 500
COST_TARGET = 0.20


def _round(s: Scratch, events: Sequence[EventOccurred], on: bool) -> float:
    """Events per second of one pass of the store group's batch; fresh database and topics."""
    database = Database(make_engine(s.database_url))
    publisher = open_publisher(s.bus())
    try:
        writer = BatchWriter(
            database,
            IndexFeed(publisher, s.es_prefix),  # the feed the index group reads, as in production
            occurrence_service(CoreSettings()),
            index_engine="kafka",
            rollups=record_occurrences if on else None,
        )
        started = time.perf_counter()
        for at in range(0, len(events), BATCH):
            writer(events[at : at + BATCH])
        return len(events) / (time.perf_counter() - started)
    finally:
        publisher.close()
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline.rollups_cost")
    p.add_argument("--events", type=int, default=20_000, help="events per round (default 20000)")
    p.add_argument("--rounds", type=int, default=4, help="rounds of each way (default 4)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        engines = Engines.from_env()
    except SetupError as exc:
        sys.stderr.write(f"benchmark cannot run: {exc}\n")
        return 2
    try:
        return _run(engines, args.events, args.rounds)
    except Exception:
        traceback.print_exc()
        return 1


def _run(engines: Engines, n: int, rounds: int) -> int:
    catalog = Catalog()
    events = generate_events(catalog, n)
    rates: dict[bool, list[float]] = {False: [], True: []}
    out(f"{n:,} events per round, batches of {BATCH}, {rounds} rounds each way")
    for i in range(2 * rounds):
        on = i % 4 in (1, 2)  # off, on, on, off, ...
        # A fresh scratch (two databases, an index prefix) per round: every event is new.
        with scratch(engines) as s:
            seeding = Database(make_engine(s.database_url))
            with seeding.unit_of_work() as session:
                seed_catalog(session, catalog, datetime.now(UTC))
            seeding.dispose()
            rate = _round(s, events, on)
        rates[on].append(rate)
        out(f"  round {i + 1}: rollups {'on ' if on else 'off'} {rate:8,.0f} events/s")
    off, on_ = statistics.median(rates[False]), statistics.median(rates[True])
    cost = 1 - on_ / off
    out(f"load average now (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out(f"store path, median events/s: rollups off {off:,.0f}, on {on_:,.0f}")
    out(f"rollups cost {cost:.1%} of the throughput -- target <= {COST_TARGET:.0%}  "
        f"{'PASS' if cost <= COST_TARGET else 'MISS'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
