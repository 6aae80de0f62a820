"""Benchmark of the event pipeline on the full stack: `python -m benchmarks.pipeline`.

In one run, on scratch resources removed at the end (see benchmarks/common/scratch.py):
1. raw baselines of the same N events: librdkafka produce, Postgres multi-row INSERT,
   Elasticsearch _bulk;
2. the real occurrence consumer (OccurrenceConsumer + BatchWriter on Kafka, Postgres and ES);
3. HTTP: the real entry_service against a bare FastAPI app, same uvicorn settings, same wrk load.
It prints figures and ratios with PASS/MISS per target, and exits non-zero only on errors.
"""

import argparse
import logging
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from analytics_index.factory import elasticsearch_client
from benchmarks.common.facts import machine_facts, out
from benchmarks.common.http_load import Target, compare, require_wrk, server_env
from benchmarks.common.scratch import Engines, Scratch, SetupError, delete_redis_keys, scratch
from benchmarks.pipeline.baselines import (
    raw_es_bulk,
    raw_kafka_produce,
    raw_postgres_copy,
    raw_postgres_insert,
    raw_postgres_json_insert,
)
from benchmarks.pipeline.consumer_run import run_consumer
from benchmarks.pipeline.dataset import (
    REQUEST_EVENTS,
    Catalog,
    generate_events,
    http_batch,
    kafka_messages,
    seed_catalog,
)
from benchmarks.pipeline.edge_floor import domain_only
from benchmarks.pipeline.freshness import event_to_queryable
from benchmarks.pipeline.report import NO_KAFKA, Figures, print_report
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from entry_service.settings import EntrySettings
from servicekit.database import Database
from servicekit.server_gc import serving_gc

HTTP_BATCH_EVENTS = REQUEST_EVENTS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__)
    p.add_argument("--events", type=int, default=20_000, help="events per phase (default 20000)")
    p.add_argument("--http-seconds", type=float, default=10.0, help="load per server (default 10)")
    p.add_argument("--http-warmup", type=float, default=2.0, help="wrk warm-up per server (s)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--skip-http", action="store_true", help="pipeline phases only")
    p.add_argument(
        "--skip-freshness", action="store_true", help="no event -> queryable phase (after HTTP)"
    )
    args = p.parse_args(argv)
    if not 1_000 <= args.events <= 1_000_000:
        p.error("--events must be between 1000 and 1000000")
    if not 1 <= args.http_seconds <= 120:
        p.error("--http-seconds must be between 1 and 120")
    return args


def seed(database_url: str, catalog: Catalog, now: datetime) -> None:
    database = Database(make_engine(database_url))
    with database.unit_of_work() as session:
        seed_catalog(session, catalog, now)
    database.dispose()


def run(args: argparse.Namespace, engines: Engines, figures: Figures) -> None:
    catalog = Catalog()
    out(f"generating {args.events:,} events ...")
    events = generate_events(catalog, args.events)
    messages = kafka_messages(events)
    with scratch(engines) as s, tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        now = datetime.now(UTC)
        for url in (s.database_url, s.baseline_database_url):
            seed(url, catalog, now)
        out(f"scratch: databases pulse_bench_{s.run_id}[_raw], topics {s.topic_prefix}*, "
            f"indices {s.es_prefix}-*, {s.es_raw_prefix}-*")  # fmt: skip
        out("1/4 raw Kafka produce (these envelopes are also the consumer's input) ...")
        figures.kafka = raw_kafka_produce(engines.kafka, s.topic_prefix, messages, len(events))
        out("2/4 raw Postgres (INSERT, INSERT from JSON, COPY), raw Elasticsearch _bulk ...")
        figures.postgres = raw_postgres_insert(s.baseline_database_url, events)
        figures.postgres_json = raw_postgres_json_insert(s.baseline_database_url, events)
        figures.postgres_copy = raw_postgres_copy(s.baseline_database_url, events)
        es = elasticsearch_client(engines.elasticsearch)
        try:
            figures.elasticsearch = raw_es_bulk(es, s.es_raw_prefix, events)
        finally:
            es.close()
        out("3/4 consumer: OccurrenceConsumer + BatchWriter until all events are committed ...")
        # With the collector setting `pulse worker` runs with (PULSE_CORE_GC_TUNING); it also
        # freezes this process's own events and envelopes, which a worker would not hold.
        with serving_gc(CoreSettings().core_gc_tuning):
            figures.consumer = run_consumer(s, events, len(messages))
        if not args.skip_http:
            out(f"4/4 HTTP: wrk {args.http_seconds:.0f} s per server ...")
            try:
                _http(args, s, catalog, Path(tmp), figures)
            finally:
                delete_redis_keys(engines.redis, [f"pulse:site:{{{catalog.site_key}}}"])


def _http(
    args: argparse.Namespace, s: Scratch, catalog: Catalog, tmp: Path, figures: Figures
) -> None:
    entry_env = server_env(
        {
            "PULSE_DATABASE_URL": s.database_url,
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": s.engines.kafka,
            "PULSE_KAFKA_TOPIC_PREFIX": s.topic_prefix,
            "PULSE_REDIS_URL": s.engines.redis,
            "PULSE_DATA_DIR": str(tmp / "data"),
            "PULSE_LOG_LEVEL": "WARNING",
        }
    )
    targets = [
        Target("bare FastAPI", "benchmarks.common.bare_app:create_app", server_env({})),
        Target("entry_service", "entry_service.main:create_app", entry_env),
        # The same app with a publisher that acknowledges at once: what Kafka costs the edge.
        Target(NO_KAFKA, "benchmarks.pipeline.edge_floor:create_app", entry_env),
    ]
    figures.http_settings = (
        f"wrk -t{args.threads} -c{args.connections} -d{args.http_seconds:.0f}s (after "
        f"{args.http_warmup:.0f} s warm-up), POST /v1/events with a fixed batch of "
        f"{HTTP_BATCH_EVENTS} events; uvicorn 1 worker, uvloop, httptools, no access log"
    )
    body = http_batch(catalog, HTTP_BATCH_EVENTS)
    figures.http = compare(
        targets,
        body,
        HTTP_BATCH_EVENTS,
        seconds=args.http_seconds,
        warmup_s=args.http_warmup,
        connections=args.connections,
        threads=args.threads,
        workdir=tmp,
    )
    settings = EntrySettings(
        database_url=s.database_url, data_dir=tmp / "domain-data", log_level="WARNING"
    )
    figures.edge_domain_rps = domain_only(settings, body.encode(), seconds=5.0)
    entry = next(h for h in figures.http if h.name == "entry_service")
    if args.skip_freshness:
        return
    half = entry.per_second / 2
    out(f"5/5 event -> queryable at half the edge's capacity ({half:.0f} req/s) ...")
    figures.freshness = event_to_queryable(
        s, catalog, entry_env, tmp, rate_rps=half, seconds=args.http_seconds
    )
    # The same path at a rate the consumer of this run sustains: its latency when the queue is
    # not what is measured (the floor of the target above is the consumer's capacity).
    consumer = figures.consumer
    if consumer and consumer.store_seconds:
        sustained = consumer.events / consumer.store_seconds / HTTP_BATCH_EVENTS / 2
        if sustained < half:
            out(f"   again at half the store group's capacity ({sustained:.0f} req/s) ...")
            figures.freshness_sustained = event_to_queryable(
                s, catalog, entry_env, tmp, rate_rps=sustained, seconds=args.http_seconds
            )
    # At a trickle no queue forms anywhere: what remains is the path's own latency (the edge,
    # both consumer groups' poll waits and batches, Elasticsearch's 1 s refresh).
    out(f"   again at a trickle ({TRICKLE_RPS:.0f} req/s) ...")
    figures.freshness_trickle = event_to_queryable(
        s, catalog, entry_env, tmp, rate_rps=TRICKLE_RPS, seconds=args.http_seconds, probe_every=1
    )


TRICKLE_RPS = 5.0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    try:
        wrk = "" if args.skip_http else require_wrk()
        engines = Engines.from_env()
    except SetupError as exc:
        sys.stderr.write(f"benchmark cannot run: {exc}\n")
        return 2
    figures = Figures(events=args.events, facts=machine_facts(engines, wrk or "wrk"))
    try:
        run(args, engines, figures)
    except Exception:
        traceback.print_exc()
        sys.stderr.write("benchmark failed; the figures measured so far follow\n")
        print_report(figures)
        return 1
    print_report(figures)
    bad = sum(h.non_2xx + h.socket_errors for h in figures.http)
    if bad:
        sys.stderr.write(f"error: {bad} HTTP responses were not 2xx (or failed): see the table\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
