"""The full stack's AnalyticsStore: campaign views from the rollups (rollups/), raw events
where the rollups cannot answer.

The rollups answer a view on whole minutes without an activity, device or new-user filter
(the page's default view, and every range picked on the page, which is in minutes): counts
exactly, unique visitors (and purchasers) as HyperLogLog estimates, marked so with their error
bound. Any other view goes to the raw store (Elasticsearch), as before the rollups.
"""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Engine

from dashboard_service.domain.models import (
    EntryStats,
    FunnelCounts,
    Measures,
    MetricsQuery,
    RawAggregates,
)
from dashboard_service.domain.ports import AnalyticsStore, SiteTraffic
from rollups import groups
from rollups.reader import (
    CampaignRollup,
    CountSums,
    View,
    on_whole_minutes,
    read_campaign,
    read_site_visits,
)
from rollups.sketches import RELATIVE_ERROR_BOUND


@dataclass(frozen=True, slots=True)
class RollupAnalyticsStore:
    engine: Engine
    raw: AnalyticsStore
    raw_traffic: SiteTraffic

    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        previous = query.previous or (query.start_ts, query.start_ts)
        filtered = (query.activity_id, query.device_type, query.new_user) != (None, None, None)
        if filtered or not on_whole_minutes(query.start_ts, query.end_ts, *previous):
            return self.raw.campaign_metrics(query)
        with self.engine.connect() as conn:
            found = read_campaign(conn, view_of(query))
        return aggregates_of(found, query)

    def visits_by_campaign(self, site_id: UUID, start_ts: int, end_ts: int) -> dict[UUID, Measures]:
        if not on_whole_minutes(start_ts, end_ts):
            return self.raw_traffic.visits_by_campaign(site_id, start_ts, end_ts)
        with self.engine.connect() as conn:
            found = read_site_visits(conn, site_id, start_ts, end_ts)
        return {
            cid: Measures(
                visits=v.visits,
                unique_visitors=v.unique_visitors,
                visitors_error=RELATIVE_ERROR_BOUND,
            )
            for cid, v in found.items()
        }

    def change_marker(self, campaign_id: UUID) -> int:
        return self.raw.change_marker(campaign_id)


def view_of(query: MetricsQuery) -> View:
    return View(
        query.campaign_id, query.start_ts, query.end_ts, query.interval_seconds, query.previous
    )


def aggregates_of(found: CampaignRollup, query: MetricsQuery) -> RawAggregates:
    """The view's RawAggregates from what the rollups hold (counts and visitors per group)."""
    seen = found.visitors
    before = found.previous_visitors
    return RawAggregates(
        totals=_measures(found.totals, seen.get(groups.ALL), seen.get(groups.PURCHASED)),
        by_activity={
            a: _measures(
                m, seen.get(groups.activity_group(a)), seen.get(groups.activity_purchasers(a))
            )
            for a, m in found.by_activity.items()
        },
        by_device={
            d: _measures(m, seen.get(groups.device_group(d)), full=False)
            for d, m in found.by_device.items()
        },
        by_new_user={
            n: _measures(m, seen.get(groups.new_user_group(n)), full=False)
            for n, m in found.by_new_user.items()
        },
        by_bucket={b: _measures(m, full=False) for b, m in found.by_bucket.items()},
        funnel=FunnelCounts(
            visited=seen.get(groups.VIEWED, 0),
            clicked=seen.get(groups.CLICKED, 0),
            converted=seen.get(groups.CONVERTED, 0),
        ),
        entries_by_activity={
            a: EntryStats(entries=n, last_entry_ts=last) for a, (n, last) in found.entries.items()
        },
        previous_totals=_measures(
            found.previous, before.get(groups.ALL), before.get(groups.PURCHASED)
        )
        if query.previous is not None and found.previous is not None
        else None,
        visitors_error=RELATIVE_ERROR_BOUND,
    )


def _measures(
    sums: CountSums | None,
    visitors: int | None = None,
    purchasers: int | None = None,
    *,
    full: bool = True,
) -> Measures:
    """The Measures of a grouping; revenue only where its MeasureSet is FULL, as every store."""
    if sums is None:
        return Measures()
    return Measures(
        events=sums.events,
        visits=sums.visits,
        clicks=sums.clicks,
        form_submits=sums.form_submits,
        purchases=sums.purchases,
        entries=sums.entries,
        revenue=sums.revenue if full else 0.0,
        unique_visitors=visitors or 0,
        purchasers=purchasers or 0,
    )
