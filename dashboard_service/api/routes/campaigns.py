"""`GET /v1/campaigns`: the campaigns a dashboard reader can open, newest first."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from dashboard_service.api.deps import CatalogDep, require_reader
from dashboard_service.api.schemas import CampaignListResponse
from dashboard_service.domain.campaign_list import list_campaigns
from dashboard_service.domain.paging import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/v1", tags=["campaigns"], dependencies=[Depends(require_reader)])


@router.get("/campaigns", response_model=CampaignListResponse)
def get_campaigns(
    catalog: CatalogDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> CampaignListResponse:
    """Campaigns with their activity counts; pass `next_cursor` back as `cursor` for more."""
    return CampaignListResponse.model_validate(list_campaigns(catalog, limit, cursor))
