"""Benchmark of campaign metrics on Elasticsearch: `python -m benchmarks.dashboard`.

In one run, on a scratch index prefix removed at the end whatever happens:
1. bulk-load N analytics documents (default 1,000,000) of one campaign with A activities
   (default 50) into monthly indices made from Pulse's template (benchmarks/dashboard/data.py);
2. check that the production store's single search and the N+1 baseline (one search for the
   campaign, then one per activity; benchmarks/dashboard/baseline.py) give the same answer;
3. time both, interleaved, over the same runs, and report p50/p95 and their ratio;
4. with --http, also time `GET /v1/campaigns/{id}/metrics` of the real dashboard app (uvicorn
   on a loopback port, a SQLite catalog of the same campaign) for context.
With PULSE_DATABASE_URL (the stack's env sets it), in a scratch database dropped at the end: the
same documents' rollups, the campaign and its purchases (benchmarks/dashboard/rollup_ways.py),
timed with the rest: the full stack's rollup view and its parts apart, the site's visits, the
overview and the cohorts. `--no-raw` times those alone.
Targets: each view p95 <= 150 ms (300 ms at 5,000,000 events), and at least 10x faster than
N+1 (p50 ratio).
Exit code: 0 when everything ran and agreed (the report says PASS or MISS), 1 on an error (a
count or an answer that does not match), 2 when it cannot run (no Elasticsearch configured).
"""

import argparse
import logging
import os
import random
import signal
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk

from analytics_index.document import index_template
from benchmarks.common.facts import out, verdict
from benchmarks.common.gc_clock import gc_clock
from benchmarks.dashboard.baseline import n_plus_one
from benchmarks.dashboard.data import Campaign, check_shape, traffic
from benchmarks.dashboard.rollup_ways import rollup_ways
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.domain.models import MetricsQuery, RawAggregates
from servicekit.server_gc import serving_gc

P95_TARGET_MS = 150.0
P95_TARGET_5M_MS = 300.0
RATIO_TARGET = 10.0
CHUNK = 5_000
# The ways held to the time target (the others are baselines, or parts of a view).
VIEWS = (
    "single search",
    "rollups view + previous period",
    "rollups overview",
    "overview",
    "cohorts",
)


class BenchmarkError(RuntimeError):
    """The run cannot be trusted: a count or an answer does not match."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__)
    p.add_argument("--events", type=int, default=1_000_000, help="documents (default 1000000)")
    p.add_argument("--activities", type=int, default=50, help="activities (default 50)")
    p.add_argument("--runs", type=int, default=50, help="timed runs of each way (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    p.add_argument("--load-timeout", type=float, default=1800, help="give up loading after (s)")
    p.add_argument("--http", action="store_true", help="also time the HTTP endpoint")
    p.add_argument(
        "--no-raw",
        action="store_true",
        help="rollups only: no Elasticsearch load, no raw search or N+1 baseline (e.g. 5M here)",
    )
    p.add_argument(
        "--default-gc",
        action="store_true",
        help="time with Python's default collector, not the dashboard server's (serving_gc)",
    )
    p.add_argument(
        "--shards",
        type=int,
        default=None,
        help="what-if: primary shards per index (Pulse's template has 1)",
    )
    args = p.parse_args(argv)
    if not 10_000 <= args.events <= 5_000_000:
        p.error("--events must be between 10000 and 5000000")
    if not 1 <= args.activities <= 1000 or not 5 <= args.runs <= 1000:
        p.error("--activities must be 1..1000 and --runs 5..1000")
    return args


@dataclass
class Timing:
    name: str
    ms: list[float]
    gc_ms: float = 0.0  # the cyclic collector's time within this way's timed runs

    def pct(self, p: float) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def row(self) -> str:
        return (
            f"{self.name:<34} p50 {self.pct(50):8.1f}  p95 {self.pct(95):8.1f}  "
            f"mean {statistics.fmean(self.ms):8.1f}  min {min(self.ms):7.1f}  "
            f"max {max(self.ms):8.1f}  ms  (n={len(self.ms)}; GC {self.gc_ms:.0f} ms in all)"
        )


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the `finally` that deletes the scratch indices


def load(
    es: Elasticsearch,
    prefix: str,
    c: Campaign,
    events: int,
    timeout_s: float,
    shards: int | None = None,
) -> float:
    """Bulk-load the documents, refresh off; returns events per second. Bounded in time."""
    es.indices.put_index_template(name=prefix, **index_template(prefix))
    months = sorted({f"{prefix}-{c.start:%Y.%m}", f"{prefix}-{c.end:%Y.%m}"})
    for name in months:
        # Refresh off while loading; no shard request cache, so every timed search computes.
        settings: dict[str, Any] = {"refresh_interval": "-1", "index.requests.cache.enable": False}
        if shards is not None:
            settings["number_of_shards"] = shards
        es.indices.create(index=name, settings=settings)
    deadline = time.monotonic() + timeout_s

    def actions() -> Iterator[dict[str, Any]]:
        for i, doc in enumerate(traffic(c, events)):
            if i % CHUNK == 0 and time.monotonic() > deadline:
                raise BenchmarkError(f"loading took longer than {timeout_s:.0f} s; stopped")
            at: str = doc["occurred_at"]
            yield {
                "_op_type": "create",
                "_index": f"{prefix}-{at[:4]}.{at[5:7]}",
                "_id": doc["event_id"],
                "_source": doc,
            }

    started = time.perf_counter()
    ok = sum(
        1
        for success, _ in parallel_bulk(
            es, actions(), thread_count=2, chunk_size=CHUNK, queue_size=2, raise_on_error=True
        )
        if success
    )
    seconds = time.perf_counter() - started
    es.indices.put_settings(index=",".join(months), settings={"refresh_interval": "1s"})
    es.indices.refresh(index=prefix)
    counted = int(es.count(index=prefix)["count"])
    if ok != events or counted != events:
        raise BenchmarkError(f"loaded {ok}, counted {counted}, expected {events}")
    return events / seconds


def index_facts(es: Elasticsearch, prefix: str) -> str:
    stats = es.indices.stats(index=prefix, metric="docs,store,segments").body["_all"]["primaries"]
    return (
        f"{stats['docs']['count']:,} docs, {stats['store']['size_in_bytes'] / 2**20:.0f} MiB, "
        f"{stats['segments']['count']} segments"
    )


def normalised(raw: RawAggregates) -> RawAggregates:
    """Revenue to cents in every grouping (sums of doubles may differ in the last bits)."""

    def cents(m: Any) -> Any:
        return replace(m, revenue=round(m.revenue, 2))

    return replace(
        raw,
        totals=cents(raw.totals),
        by_activity={k: cents(m) for k, m in raw.by_activity.items()},
        by_device={k: cents(m) for k, m in raw.by_device.items()},
        by_new_user={k: cents(m) for k, m in raw.by_new_user.items()},
        by_bucket={k: cents(m) for k, m in raw.by_bucket.items()},
    )


def compare(single: Callable[[], RawAggregates], baseline: Callable[[], RawAggregates]) -> None:
    a, b = normalised(single()), normalised(baseline())
    if a != b:
        diff = [f for f in a.__dataclass_fields__ if getattr(a, f) != getattr(b, f)]
        raise BenchmarkError(f"single search and N+1 disagree on: {', '.join(diff)}")
    if not a.by_activity or not a.entries_by_activity or not a.totals.events:
        raise BenchmarkError("the answer is empty: the query does not match the data")


def time_both(
    ways: list[tuple[str, Callable[[], Any]]], runs: int, warmup: int, server_gc: bool = True
) -> list[Timing]:
    """Interleaved, alternating the order, so load on the machine hits both alike. With the
    collector set as the dashboard server sets it (`serving_gc`: what is alive now frozen, as a
    server's startup objects are, so collections do not walk this process's loaded data)."""
    timings = {name: Timing(name, []) for name, _ in ways}
    with gc_clock() as clock, serving_gc(server_gc):
        for i in range(warmup + runs):
            for name, call in ways if i % 2 == 0 else ways[::-1]:
                started, collecting = time.perf_counter(), clock.total_s
                call()
                if i >= warmup:
                    timings[name].ms.append((time.perf_counter() - started) * 1000)
                    timings[name].gc_ms += (clock.total_s - collecting) * 1000
    return list(timings.values())


def run(args: argparse.Namespace, es_url: str) -> int:
    rng = random.Random(20261123)
    # On a whole minute, as the API's default view ends (and so its start, a day before).
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    campaign = Campaign.make(args.activities, end, rng)
    check_shape(campaign)
    prefix = f"pulse-benchdash-{uuid.uuid4().hex[:10]}"
    es = Elasticsearch(es_url, request_timeout=120)
    database_url = os.environ.get("PULSE_DATABASE_URL")
    try:
        with ExitStack() as stack:
            if not args.no_raw:
                out(f"1/3 loading {args.events:,} documents, {args.activities} activities "
                    f"into {prefix}-*")  # fmt: skip
                rate = load(es, prefix, campaign, args.events, args.load_timeout, args.shards)
                out(f"    {rate:,.0f} docs/s; index: {index_facts(es, prefix)}")
            query = MetricsQuery(
                campaign.campaign_id,
                int(campaign.start.timestamp()),
                int(campaign.end.timestamp()),
                3600,
            )
            store = ElasticsearchAnalyticsStore(es, prefix)
            ids = list(campaign.activity_ids)
            span = query.end_ts - query.start_ts
            # What the API sends since trends: the view and the same-length period before it
            # (here, as for a campaign viewed from its start, a period without events).
            with_trend = replace(query, previous=(query.start_ts - span, query.start_ts))
            ways: list[tuple[str, Callable[[], Any]]] = []
            if not args.no_raw:
                ways += [
                    ("single search (raw events)", lambda: store.campaign_metrics(query)),
                    (
                        f"N+1 baseline ({len(ids) + 1} searches)",
                        lambda: n_plus_one(es, prefix, query, ids),
                    ),
                    (
                        "view + previous period (_msearch)",
                        lambda: store.campaign_metrics(with_trend),
                    ),
                ]
                out("2/3 checking that both ways give the same answer ...")
                compare(ways[0][1], ways[1][1])
            if database_url:
                rollups = stack.enter_context(
                    rollup_ways(database_url, campaign, args.events, store, with_trend)
                )
                ways += rollups.ways
                if not args.no_raw:
                    rollups.check_counts(store.campaign_metrics(query))
            if not ways:
                raise BenchmarkError("nothing to time: --no-raw needs PULSE_DATABASE_URL")
            out(f"3/3 timing {args.runs} runs of each (after {args.warmup} warm-up runs) ...")
            timings = time_both(ways, args.runs, args.warmup, not args.default_gc)
            # Reported before the HTTP part, so an endpoint failure (e.g. its 10 s timeout on an
            # overloaded machine) does not lose the figures already measured.
            report(args, timings)
            if args.http and not args.no_raw:
                from benchmarks.dashboard.http import time_endpoint

                ms = time_endpoint(es_url, prefix, campaign, args.runs, args.warmup)
                out("  " + Timing("HTTP GET .../metrics (context)", ms).row())
        return 0
    finally:
        if not args.no_raw:
            _delete(es, prefix)
        es.close()


def report(args: argparse.Namespace, timings: list[Timing]) -> None:
    by_name = {t.name.split(" (")[0]: t for t in timings}
    out()
    shards = f", {args.shards} shards per index (what-if)" if args.shards else ""
    out(f"Campaign metrics: {args.events:,} events, {args.activities} activities{shards}")
    out(f"  load average now (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for t in timings:
        out("  " + t.row())
    baseline = next((t for t in timings if t.name.startswith("N+1")), None)
    for name in VIEWS:
        way = by_name.get(name)
        if way is None:
            continue
        target = P95_TARGET_MS if args.events <= 1_000_000 else P95_TARGET_5M_MS
        p95 = way.pct(95)
        out(f"  {name} p95 {p95:.1f} ms -- target <= {target:.0f} ms  "
            f"{'PASS' if p95 <= target else 'MISS'}")  # fmt: skip
        if baseline is not None and name in ("single search", "rollups view + previous period"):
            ratio50, ratio95 = baseline.pct(50) / way.pct(50), baseline.pct(95) / p95
            out(f"  N+1 / {name}, p50 {ratio50:.1f}x (p95 {ratio95:.1f}x) -- target >= "
                f"{RATIO_TARGET:.0f}x  {verdict(ratio50, RATIO_TARGET)}")  # fmt: skip


def _delete(es: Elasticsearch, prefix: str) -> None:
    """Indices by name (this cluster refuses wildcard deletes), then the template."""
    try:
        for name in es.indices.get(index=f"{prefix}-*", allow_no_indices=True):
            es.indices.delete(index=name)
        es.options(ignore_status=404).indices.delete_index_template(name=prefix)
        out(f"scratch indices {prefix}-* and template deleted")
    except Exception as exc:  # report and leave: the run's outcome is already decided
        sys.stderr.write(f"cleanup of {prefix}-* failed: {type(exc).__name__}: {exc}\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    es_url = os.environ.get("PULSE_ELASTICSEARCH_URL")
    if not es_url:
        sys.stderr.write(
            "PULSE_ELASTICSEARCH_URL not set: run "
            '`scripts/stack up && eval "$(scripts/stack env)"` first\n'
        )
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run(args, es_url)
    except BenchmarkError as exc:
        sys.stderr.write(f"benchmark error: {exc}\n")
        return 1
    except Exception:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
