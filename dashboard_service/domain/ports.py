"""The engines the dashboard domain needs, as protocols; adapters implement them."""

from typing import Protocol
from uuid import UUID

from dashboard_service.domain.models import CampaignInfo, MetricsQuery, RawAggregates


class AnalyticsStore(Protocol):
    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        """Every grouping of one campaign's events in ONE request to the engine."""
        ...


class CampaignCatalog(Protocol):
    def get_campaign(self, campaign_id: UUID) -> CampaignInfo | None:
        """The campaign with its activities ordered by creation, or None."""
        ...
