"""A site's overview across campaigns, and a campaign's cohort LTV: one request each."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from dashboard_service.api.deps import CatalogDep, ClockDep, MoneyDep, TrafficDep, require_reader
from dashboard_service.api.schemas import CohortsResponse, OverviewResponse
from dashboard_service.domain.overview import MAX_COHORT_WEEKS, campaign_cohorts, site_overview

router = APIRouter(prefix="/v1", tags=["money"], dependencies=[Depends(require_reader)])


@router.get("/sites/{site_id}/overview", response_model=OverviewResponse)
def get_site_overview(
    site_id: UUID,
    money: MoneyDep,
    traffic: TrafficDep,
    clock: ClockDep,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> OverviewResponse:
    """Every campaign of the site over `[from, to)` (default: the last 30 days): visits, unique
    visitors, GMV, orders, budget, spend, ROAS; the top campaigns by GMV and by visits."""
    result = site_overview(site_id, start, end, money, traffic, clock())
    return OverviewResponse.model_validate(result)


@router.get("/campaigns/{campaign_id}/cohorts", response_model=CohortsResponse)
def get_campaign_cohorts(
    campaign_id: UUID,
    catalog: CatalogDep,
    money: MoneyDep,
    clock: ClockDep,
    weeks: Annotated[int, Query(ge=1, le=MAX_COHORT_WEEKS)] = 12,
) -> CohortsResponse:
    """Customers the campaign acquired (their first trusted purchase on the site was in it),
    by week of that purchase, with cumulative revenue per customer by weeks since."""
    result = campaign_cohorts(campaign_id, weeks, catalog, money, clock())
    return CohortsResponse.model_validate(result)
