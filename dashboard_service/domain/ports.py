"""The engines the dashboard domain needs, as protocols; adapters implement them."""

from typing import Protocol
from uuid import UUID

from dashboard_service.domain.models import (
    CampaignInfo,
    CampaignSummary,
    MetricsQuery,
    RawAggregates,
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
