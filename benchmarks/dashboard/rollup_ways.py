"""The rollup side of the dashboard benchmark: load, check against the raw search and the exact
visitors, and the timed ways: the full stack's production store (the campaign view and the
site's visits), the parts of the campaign view apart, the overview and the cohorts."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine

from benchmarks.common.facts import out
from benchmarks.dashboard.data import Campaign
from benchmarks.dashboard.money_load import AFTER, MoneyLoaded, load_purchases, seed_catalog
from benchmarks.dashboard.rollup_load import ExactVisitors, load_rollups, scratch_database
from benchmarks.dashboard.view_parts import explain_counts, view_parts
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.rollup_analytics import RollupAnalyticsStore
from dashboard_service.adapters.sql_catalog import SqlCampaignCatalog
from dashboard_service.adapters.sql_money import SqlMoneyStore
from dashboard_service.domain.models import Measures, MetricsQuery, RawAggregates
from dashboard_service.domain.overview import campaign_cohorts, site_overview
from datastore.engine import make_engine

COHORT_WEEKS = 12  # the API's default

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
        seed_catalog(url, campaign)
        seconds, exact, bought = load_rollups(url, campaign, events)
        money = load_purchases(url, campaign, bought)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:  # as autovacuum would have by the time anyone reads
                conn.exec_driver_sql("ANALYZE")
            store = RollupAnalyticsStore(engine, raw, raw)
            out(f"    rollups written in {seconds:.0f} s ({events / seconds:,.0f} events/s); "
                f"{_sizes(engine)}")  # fmt: skip
            out(f"    money: {money.purchases:,} purchases written with their cohort cells in "
                f"{money.seconds:.1f} s ({money.purchases / money.seconds:,.0f}/s, batches of "
                f"500), {money.acquired:,} customers the campaign acquired")  # fmt: skip
            out("    " + explain_counts(engine, query))
            ways = RollupWays(
                ways=[
                    ("rollups view + previous period", lambda: store.campaign_metrics(query)),
                    *view_parts(engine, query),
                    (
                        "rollups overview (site visits)",
                        lambda: store.visits_by_campaign(
                            campaign.site_id, query.start_ts, query.end_ts
                        ),
                    ),
                    *_money_ways(engine, store, campaign, query, money),
                ],
                store=store,
                query=query,
                exact=exact,
            )
            _check_visitors(store, query, exact)
            yield ways
        finally:
            engine.dispose()


def _money_ways(
    engine: Engine,
    store: RollupAnalyticsStore,
    c: Campaign,
    query: MetricsQuery,
    loaded: MoneyLoaded,
) -> list[tuple[str, Callable[[], Any]]]:
    """The overview (money and visits of the site's campaigns) and the cohorts, as the API asks
    them of the full stack; both checked against what was loaded before they are timed."""
    money, catalog = SqlMoneyStore(engine), SqlCampaignCatalog(engine)
    start, end = c.start, c.end

    def overview() -> Any:
        return site_overview(c.site_id, start, end, money, store, end)

    def cohorts() -> Any:
        return campaign_cohorts(c.campaign_id, COHORT_WEEKS, catalog, money, c.end + AFTER)

    row = next(r for r in overview().campaigns if r.campaign_id == c.campaign_id)
    visits = store.campaign_metrics(query).totals.visits
    if (row.visits, row.orders) != (visits, loaded.orders) or bool(row.gmv) != bool(row.orders):
        raise RollupMismatch(
            f"overview: {row.visits} visits, {row.orders} orders, GMV {row.gmv}; expected "
            f"{visits} visits (the view's), {loaded.orders} orders"
        )
    found = cohorts()
    members = sum(r.customers for r in found.rows)
    revenue = any(r.cumulative_revenue_per_customer[-1] for r in found.rows)
    if members != loaded.acquired or revenue != bool(members):
        raise RollupMismatch(f"cohorts: {members} customers, {loaded.acquired} acquired")
    kept = sum(line.amount for line in money.cohort_facts(c.site_id, c.campaign_id).lines)
    if kept != loaded.acquired_revenue:
        raise RollupMismatch(f"cohort cells: {kept} revenue, {loaded.acquired_revenue} bought")
    out(f"    overview: {row.orders:,} orders, GMV {row.gmv:,}; cohorts: {len(found.rows)} "
        f"week(s), {members:,} customers (= acquired), {COHORT_WEEKS} weeks, cells' revenue "
        f"{kept:,} (= theirs)")  # fmt: skip
    return [("overview (money + site visits)", overview), ("cohorts (12 weeks)", cohorts)]


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
