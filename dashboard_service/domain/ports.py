"""The engines the dashboard domain needs, as protocols; adapters implement them."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from common_messaging.currency import CurrencyRates
from dashboard_service.domain.models import (
    CampaignInfo,
    CampaignSummary,
    Measures,
    MetricsQuery,
    RawAggregates,
)
from dashboard_service.domain.money_models import (
    CampaignMoneyTotals,
    CohortFacts,
    MoneySettings,
    PurchaseFacts,
)
from dashboard_service.domain.paging import CursorKey


class AnalyticsStore(Protocol):
    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        """Every grouping of one campaign's events in ONE request to the engine."""
        ...

    def change_marker(self, campaign_id: UUID) -> int:
        """A cheap value that changes whenever the campaign gets new events (their count)."""
        ...


class CampaignCatalog(Protocol):
    def get_campaign(self, campaign_id: UUID) -> CampaignInfo | None:
        """The campaign with its activities ordered by creation, or None."""
        ...

    def list_campaigns(self, after: CursorKey | None, limit: int) -> list[CampaignSummary]:
        """Campaigns newest first (by creation, then id), strictly after `after`."""
        ...


class MoneyStore(Protocol):
    """Trusted purchases, budgets and spend (the database, on both ways to run)."""

    def settings(self, site_id: UUID, campaign_id: UUID) -> MoneySettings:
        """The site's currency and rates, the campaign's budget and spend."""
        ...

    def purchases(
        self,
        site_id: UUID,
        campaign_id: UUID,
        spans: Sequence[tuple[datetime, datetime]],
        activity_id: UUID | None = None,
    ) -> list[PurchaseFacts]:
        """Per `[start, end)` span, the campaign's trusted purchases by activity and currency,
        and how many customers made their first purchase on the site with it."""
        ...

    def cohort_facts(self, site_id: UUID, campaign_id: UUID) -> CohortFacts:
        """The customers the campaign acquired, and their trusted purchases on the site, summed
        (a few rows per cohort day, whatever the number of purchases)."""
        ...

    def site_money(
        self, site_id: UUID, start: datetime, end: datetime
    ) -> tuple[CurrencyRates, list[CampaignMoneyTotals]] | None:
        """Per campaign of the site: budget, spend, trusted purchases in `[start, end)`;
        None when there is no such site."""
        ...


class SiteTraffic(Protocol):
    def visits_by_campaign(self, site_id: UUID, start_ts: int, end_ts: int) -> dict[UUID, Measures]:
        """Page views and unique visitors per campaign of the site, in ONE request."""
        ...
