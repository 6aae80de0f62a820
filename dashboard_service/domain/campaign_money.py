"""A campaign view's money and trends: added to the assembled metrics (docs/metrics.md)."""

from dataclasses import replace
from datetime import UTC, datetime

from common_messaging.currency import to_cents
from dashboard_service.domain.kpi_trends import kpi_trends
from dashboard_service.domain.models import (
    CampaignMetrics,
    Measures,
    MetricsQuery,
    MetricsRequest,
    RawAggregates,
    TimeRange,
)
from dashboard_service.domain.money import ZERO, convert, money_figures
from dashboard_service.domain.ports import MoneyStore


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def with_money_and_trends(
    metrics: CampaignMetrics,
    request: MetricsRequest,
    query: MetricsQuery,
    raw: RawAggregates,
    money: MoneyStore | None,
) -> CampaignMetrics:
    """Money from trusted purchases in the site's reporting currency, and every KPI against
    the previous period. Money follows the range and the activity filter; purchases carry no
    device or new-user mark in the database, so those filters leave it as it is."""
    previous = raw.previous_totals or Measures()
    if query.previous is None:
        return metrics
    p_start, p_end = _at(query.previous[0]), _at(query.previous[1])
    previous_range = TimeRange(p_start, p_end, query.interval_seconds)
    if money is None:
        return replace(
            metrics,
            previous_range=previous_range,
            trends=kpi_trends(metrics.totals, previous, None, None),
        )
    campaign = metrics.campaign
    settings = money.settings(campaign.site_id, campaign.id)
    spans = [(metrics.range.start, metrics.range.end), (p_start, p_end)]
    now_facts, previous_facts = money.purchases(
        campaign.site_id, campaign.id, spans, request.activity_id
    )
    window = (campaign.starts_at, campaign.ends_at)
    one_activity = request.activity_id is not None
    money_now = money_figures(
        settings,
        now_facts,
        entries=metrics.totals.entries,
        window=window,
        start=metrics.range.start,
        end=metrics.range.end,
        one_activity=one_activity,
    )
    money_previous = money_figures(
        settings,
        previous_facts,
        entries=previous.entries,
        window=window,
        start=p_start,
        end=p_end,
        one_activity=one_activity,
    )
    by_activity = convert(now_facts.lines, settings.rates).by_activity
    return replace(
        metrics,
        activities=tuple(
            replace(a, gmv=gmv, orders=orders)
            for a in metrics.activities
            for gmv, orders in [by_activity.get(a.activity_id, (to_cents(ZERO), 0))]
        ),
        previous_range=previous_range,
        money=money_now,
        trends=kpi_trends(metrics.totals, previous, money_now, money_previous),
    )
