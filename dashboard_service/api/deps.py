"""FastAPI dependencies of dashboard_service: what lifespan built, as typed aliases."""

from typing import Annotated

from fastapi import Depends, Request

from dashboard_service.domain.ports import AnalyticsStore, CampaignCatalog
from servicekit.auth import require_bearer
from servicekit.clock import Clock, utc_now


def get_catalog(request: Request) -> CampaignCatalog:
    catalog: CampaignCatalog = request.app.state.catalog
    return catalog


def get_analytics_store(request: Request) -> AnalyticsStore:
    store: AnalyticsStore = request.app.state.analytics_store
    return store


def get_clock() -> Clock:
    return utc_now


CatalogDep = Annotated[CampaignCatalog, Depends(get_catalog)]
AnalyticsStoreDep = Annotated[AnalyticsStore, Depends(get_analytics_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]

require_reader = require_bearer(lambda request: request.app.state.read_tokens)
