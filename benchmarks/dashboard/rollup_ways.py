"""The rollup side of the dashboard benchmark: load, check against the raw search and the exact
visitors, and the timed ways (the full stack's production store, view and overview)."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from benchmarks.common.facts import out
from benchmarks.dashboard.data import Campaign
from benchmarks.dashboard.rollup_load import ExactVisitors, load_rollups, scratch_database
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.rollup_analytics import RollupAnalyticsStore
from dashboard_service.domain.models import Measures, MetricsQuery, RawAggregates
from datastore.engine import make_engine

ERROR_TARGET = 0.02
_VISITORS = {"unique_visitors", "purchasers", "visitors_error"}


class RollupMismatch(RuntimeError):
    """The rollups' counts differ from the raw search's, or an estimate is off the target."""


@dataclass
class RollupWays:
    ways: list[tuple[str, Callable[[], Any]]]
    store: RollupAnalyticsStore
    query: MetricsQuery
    exact: ExactVisitors

    def check_counts(self, raw: RawAggregates) -> None:
        """Every count of the raw single search equals the rollups' (visitors apart)."""
        rolled = self.store.campaign_metrics(self.query)

        def counts(m: Measures) -> dict[str, Any]:
            return {
                f.name: round(getattr(m, f.name), 2) for f in fields(m) if f.name not in _VISITORS
            }

        pairs = [(raw.totals, rolled.totals)] + [
            (m, rolled.by_activity[k]) for k, m in raw.by_activity.items()
        ]
        pairs += [(m, rolled.by_bucket[k]) for k, m in raw.by_bucket.items()]
        pairs += [(m, rolled.by_device[k]) for k, m in raw.by_device.items()]
        for want, got in pairs:
            if counts(want) != counts(got):
                raise RollupMismatch(f"rollups {counts(got)} != raw {counts(want)}")
        if raw.entries_by_activity != rolled.entries_by_activity:
            raise RollupMismatch("confirmed entries per activity differ")
        out("    rollup counts equal the raw search's (totals, activities, hours, devices)")


@contextmanager
def rollup_ways(
    server_url: str,
    campaign: Campaign,
    events: int,
    raw: ElasticsearchAnalyticsStore,
    query: MetricsQuery,
) -> Iterator[RollupWays]:
    with scratch_database(server_url) as url:
        out(f"    rollups: writing {events:,} events' rollups into a scratch database ...")
        seconds, exact = load_rollups(url, campaign, events)
        engine = make_engine(url)
        try:
            store = RollupAnalyticsStore(engine, raw, raw)
            out(f"    rollups written in {seconds:.0f} s ({events / seconds:,.0f} events/s); "
                f"{_sizes(engine)}")  # fmt: skip
            ways = RollupWays(
                ways=[
                    ("rollups view + previous period", lambda: store.campaign_metrics(query)),
                    (
                        "rollups overview (site visits)",
                        lambda: store.visits_by_campaign(
                            campaign.site_id, query.start_ts, query.end_ts
                        ),
                    ),
                ],
                store=store,
                query=query,
                exact=exact,
            )
            _check_visitors(store, query, exact)
            yield ways
        finally:
            engine.dispose()


def _sizes(engine: Any) -> str:
    with engine.connect() as conn:
        counts = conn.exec_driver_sql("SELECT count(*) FROM rollup_counts").scalar_one()
        sketches = conn.exec_driver_sql(
            "SELECT count(*), coalesce(sum(length(sketch)), 0) FROM rollup_sketches"
        ).one()
    return f"{counts:,} count rows, {sketches[0]:,} sketches ({sketches[1] / 2**20:.1f} MiB)"


def _check_visitors(store: RollupAnalyticsStore, query: MetricsQuery, exact: ExactVisitors) -> None:
    """The sketches' unique visitors against the exact ones: total and every activity."""
    rolled = store.campaign_metrics(query)
    errors = {"total": _error(rolled.totals.unique_visitors, len(exact.total))}
    for activity, visitors in exact.by_activity.items():
        errors[str(activity)] = _error(rolled.by_activity[activity].unique_visitors, len(visitors))
    worst = max(errors.values(), key=abs)
    per_activity = [abs(e) for k, e in errors.items() if k != "total"]
    out(f"    unique visitors: exact {len(exact.total):,}, estimated "
        f"{rolled.totals.unique_visitors:,} ({errors['total']:+.3%}); per activity: "
        f"mean |error| {sum(per_activity) / len(per_activity):.3%}, "
        f"max |error| {max(per_activity):.3%} -- target <= {ERROR_TARGET:.0%}  "
        f"{'PASS' if abs(worst) <= ERROR_TARGET else 'MISS'}")  # fmt: skip
    if os.environ.get("PULSE_BENCH_VERBOSE"):
        for key, error in sorted(errors.items(), key=lambda kv: -abs(kv[1])):
            out(f"      {key}: {error:+.4%}")


def _error(estimate: int, exact: int) -> float:
    return (estimate - exact) / exact if exact else 0.0
