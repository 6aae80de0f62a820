"""A site's campaigns side by side, and a campaign's cohorts: one request each."""

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from dashboard_service.domain.metrics import ceil_minute
from dashboard_service.domain.money import ZERO, convert, spend_in_range
from dashboard_service.domain.money import cohorts as cohort_triangle
from dashboard_service.domain.money_models import (
    Cohorts,
    OverviewRow,
    SiteOverview,
    UnconvertedRevenue,
)
from dashboard_service.domain.ports import CampaignCatalog, MoneyStore, SiteTraffic
from dashboard_service.errors import CampaignNotFound, InvalidRange, SiteNotFound

OVERVIEW_LOOKBACK = timedelta(days=30)
MAX_OVERVIEW_RANGE = timedelta(days=400)
TOP = 5
MAX_COHORT_WEEKS = 52


def site_overview(
    site_id: UUID,
    start: datetime | None,
    end: datetime | None,
    money: MoneyStore,
    traffic: SiteTraffic,
    now: datetime,
) -> SiteOverview:
    end = end or ceil_minute(now)  # whole minutes: the rollups can answer
    start = start or end - OVERVIEW_LOOKBACK
    if end <= start or end - start > MAX_OVERVIEW_RANGE:
        raise InvalidRange(
            f"`from` must be before `to`, at most {MAX_OVERVIEW_RANGE.days} days apart",
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
    found = money.site_money(site_id, start, end)
    if found is None:
        raise SiteNotFound(f"no site with id {site_id}", details={"site_id": str(site_id)})
    rates, campaigns = found
    visits = traffic.visits_by_campaign(site_id, int(start.timestamp()), int(end.timestamp()))
    rows: list[OverviewRow] = []
    bound = max((m.visitors_error for m in visits.values() if m.visitors_error), default=None)
    apart: dict[str, tuple[int, Decimal]] = {}
    for c in campaigns:
        converted = convert(c.lines, rates)
        for u in converted.unconverted:
            n, a = apart.get(u.currency, (0, ZERO))
            apart[u.currency] = (n + u.orders, a + u.amount)
        spend = spend_in_range(c.spend, (c.starts_at, c.ends_at), start, end)
        traffic_row = visits.get(c.campaign_id)
        rows.append(
            OverviewRow(
                campaign_id=c.campaign_id,
                name=c.name,
                status=c.status,
                visits=traffic_row.visits if traffic_row else 0,
                unique_visitors=traffic_row.unique_visitors if traffic_row else 0,
                gmv=converted.gmv,
                orders=converted.orders,
                budget=c.budget,
                spend=spend,
                roas=round(float(converted.gmv / spend), 4) if spend else None,
                budget_used=round(float(spend / c.budget), 4) if c.budget else None,
            )
        )
    return SiteOverview(
        site_id=site_id,
        currency=rates.currency,
        start=start,
        end=end,
        campaigns=tuple(rows),
        top_by_gmv=tuple(r.campaign_id for r in sorted(rows, key=lambda r: -r.gmv)[:TOP] if r.gmv),
        top_by_visits=tuple(
            r.campaign_id for r in sorted(rows, key=lambda r: -r.visits)[:TOP] if r.visits
        ),
        gmv=sum((r.gmv for r in rows), ZERO),
        spend=sum((r.spend for r in rows), ZERO),
        budget=sum((r.budget or ZERO for r in rows), Decimal("0")),
        unconverted=tuple(UnconvertedRevenue(cur, n, a) for cur, (n, a) in sorted(apart.items())),
        approximations={"campaigns.unique_visitors": bound} if bound is not None else {},
    )


def campaign_cohorts(
    campaign_id: UUID, weeks: int, catalog: CampaignCatalog, money: MoneyStore, now: datetime
) -> Cohorts:
    campaign = catalog.get_campaign(campaign_id)
    if campaign is None:
        raise CampaignNotFound(
            f"no campaign with id {campaign_id}", details={"campaign_id": str(campaign_id)}
        )
    rates = money.settings(campaign.site_id, campaign.id).rates
    facts = money.cohort_facts(campaign.site_id, campaign.id)
    return cohort_triangle(facts, rates, now, weeks)
