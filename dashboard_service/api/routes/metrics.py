"""`GET /v1/campaigns/{campaign_id}/metrics`: parse, ask the domain, map the result."""

from fastapi import APIRouter, Depends

from dashboard_service.api.deps import (
    AnalyticsStoreDep,
    CatalogDep,
    ClockDep,
    MetricsRequestDep,
    MoneyDep,
    require_reader,
)
from dashboard_service.api.schemas import MetricsResponse
from dashboard_service.domain.metrics import campaign_metrics

router = APIRouter(prefix="/v1", tags=["metrics"], dependencies=[Depends(require_reader)])


@router.get("/campaigns/{campaign_id}/metrics", response_model=MetricsResponse)
def get_campaign_metrics(  # sync: FastAPI runs it in the threadpool, off the event loop
    request: MetricsRequestDep,
    catalog: CatalogDep,
    store: AnalyticsStoreDep,
    clock: ClockDep,
    money: MoneyDep,
) -> MetricsResponse:
    """Totals, per-activity rows, entries vs capacity, devices, new vs returning, the funnel and
    the timeline of one campaign, from ONE aggregate request to the analytics store; the money
    (docs/metrics.md) from the database; every KPI against the previous period (`trends`)."""
    result = campaign_metrics(request, catalog, store, clock(), money)
    return MetricsResponse.model_validate(result)
