"""FastAPI dependencies of dashboard_service: what lifespan built, as typed aliases."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request
from pydantic import AwareDatetime

from dashboard_service.domain.live import LiveMetrics, StreamSlots
from dashboard_service.domain.models import DeviceType, MetricsRequest
from dashboard_service.domain.ports import AnalyticsStore, CampaignCatalog
from dashboard_service.domain.sessions import session_is_valid
from dashboard_service.domain.sign_in_guard import SignInGuard
from dashboard_service.errors import InvalidSession
from servicekit.auth import require_bearer
from servicekit.clock import Clock, utc_now

SESSION_COOKIE = "pulse_dashboard_session"


def get_catalog(request: Request) -> CampaignCatalog:
    catalog: CampaignCatalog = request.app.state.catalog
    return catalog


def get_analytics_store(request: Request) -> AnalyticsStore:
    store: AnalyticsStore = request.app.state.analytics_store
    return store


def get_clock() -> Clock:
    return utc_now


def get_live(request: Request) -> LiveMetrics:
    live: LiveMetrics = request.app.state.live
    return live


def get_stream_slots(request: Request) -> StreamSlots:
    slots: StreamSlots = request.app.state.stream_slots
    return slots


def get_sign_in_guard(request: Request) -> SignInGuard:
    guard: SignInGuard = request.app.state.sign_in_guard
    return guard


def get_read_tokens(request: Request) -> list[str]:
    tokens: list[str] = request.app.state.read_tokens
    return tokens


CatalogDep = Annotated[CampaignCatalog, Depends(get_catalog)]
AnalyticsStoreDep = Annotated[AnalyticsStore, Depends(get_analytics_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]
LiveDep = Annotated[LiveMetrics, Depends(get_live)]
StreamSlotsDep = Annotated[StreamSlots, Depends(get_stream_slots)]
ReadTokensDep = Annotated[list[str], Depends(get_read_tokens)]
SignInGuardDep = Annotated[SignInGuard, Depends(get_sign_in_guard)]


def metrics_request(
    campaign_id: UUID,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    activity_id: UUID | None = None,
    device_type: DeviceType | None = None,
    new_user: bool | None = None,
) -> MetricsRequest:
    """The view's campaign and filters, shared by the metrics and the stream routes."""
    return MetricsRequest(campaign_id, start, end, activity_id, device_type, new_user)


MetricsRequestDep = Annotated[MetricsRequest, Depends(metrics_request)]

_require_bearer = require_bearer(get_read_tokens)


def require_reader(request: Request, tokens: ReadTokensDep, clock: ClockDep) -> None:
    """A dashboard or admin bearer token, or the web UI's session cookie (EventSource and page
    loads cannot set headers). An Authorization header, when sent, is the one that counts."""
    session = request.cookies.get(SESSION_COOKIE)
    if session is None or "authorization" in request.headers:
        _require_bearer(request)
    elif not session_is_valid(session, tokens, clock()):
        raise InvalidSession("the dashboard session has expired or is not valid: sign in again")
