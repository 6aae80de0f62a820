"""FastAPI dependencies of dashboard_service: what lifespan built, as typed aliases."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request
from pydantic import AwareDatetime

from common_messaging import DeviceType
from dashboard_service.domain.live import LiveMetrics, StreamSlots
from dashboard_service.domain.models import MetricsRequest
from dashboard_service.domain.ports import (
    AnalyticsStore,
    CampaignCatalog,
    MoneyStore,
    SiteTraffic,
)
from dashboard_service.domain.sessions import session_is_valid
from dashboard_service.domain.sign_in_guard import SignInGuard
from dashboard_service.errors import InvalidSession
from dashboard_service.wiring import DashboardPorts
from servicekit.auth import check_bearer
from servicekit.clock import Clock, utc_now

SESSION_COOKIE = "pulse_dashboard_session"


def get_ports(request: Request) -> DashboardPorts:
    ports: DashboardPorts = request.app.state.ports
    return ports


PortsDep = Annotated[DashboardPorts, Depends(get_ports)]


def get_catalog(ports: PortsDep) -> CampaignCatalog:
    return ports.catalog


def get_analytics_store(ports: PortsDep) -> AnalyticsStore:
    return ports.analytics_store


def get_money(ports: PortsDep) -> MoneyStore:
    return ports.money


def get_traffic(ports: PortsDep) -> SiteTraffic:
    return ports.traffic


def get_clock() -> Clock:
    return utc_now


def get_live(ports: PortsDep) -> LiveMetrics:
    return ports.live


def get_stream_slots(ports: PortsDep) -> StreamSlots:
    return ports.stream_slots


def get_sign_in_guard(ports: PortsDep) -> SignInGuard:
    return ports.sign_in_guard


def get_read_tokens(ports: PortsDep) -> list[str]:
    return ports.read_tokens


CatalogDep = Annotated[CampaignCatalog, Depends(get_catalog)]
AnalyticsStoreDep = Annotated[AnalyticsStore, Depends(get_analytics_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]
MoneyDep = Annotated[MoneyStore, Depends(get_money)]
TrafficDep = Annotated[SiteTraffic, Depends(get_traffic)]
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


def require_reader(request: Request, tokens: ReadTokensDep, clock: ClockDep) -> None:
    """A dashboard or admin bearer token, or the web UI's session cookie (EventSource and page
    loads cannot set headers). An Authorization header, when sent, is the one that counts."""
    session = request.cookies.get(SESSION_COOKIE)
    if session is None or "authorization" in request.headers:
        check_bearer(request, tokens)
    elif not session_is_valid(session, tokens, clock()):
        raise InvalidSession("the dashboard session has expired or is not valid: sign in again")
