"""The campaigns a dashboard reader can open: `list_campaigns`, one keyset page at a time."""

from dashboard_service.domain.models import CampaignPage
from dashboard_service.domain.paging import decode_cursor, page_of
from dashboard_service.domain.ports import CampaignCatalog


def list_campaigns(catalog: CampaignCatalog, limit: int, cursor: str | None) -> CampaignPage:
    return page_of(catalog.list_campaigns(after=decode_cursor(cursor), limit=limit + 1), limit)
