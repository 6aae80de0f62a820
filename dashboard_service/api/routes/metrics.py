"""`GET /v1/campaigns/{campaign_id}/metrics`: parse, ask the domain, map the result."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from dashboard_service.api.deps import AnalyticsStoreDep, CatalogDep, ClockDep, require_reader
from dashboard_service.api.schemas import MetricsResponse
from dashboard_service.domain.metrics import campaign_metrics
from dashboard_service.domain.models import DeviceType, MetricsRequest

router = APIRouter(prefix="/v1", tags=["metrics"], dependencies=[Depends(require_reader)])


@router.get("/campaigns/{campaign_id}/metrics", response_model=MetricsResponse)
def get_campaign_metrics(  # sync: FastAPI runs it in the threadpool, off the event loop
    campaign_id: UUID,
    catalog: CatalogDep,
    store: AnalyticsStoreDep,
    clock: ClockDep,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    activity_id: UUID | None = None,
    device_type: DeviceType | None = None,
    new_user: bool | None = None,
) -> MetricsResponse:
    request = MetricsRequest(campaign_id, start, end, activity_id, device_type, new_user)
    result = campaign_metrics(request, catalog, store, clock())
    return MetricsResponse.model_validate(result)
