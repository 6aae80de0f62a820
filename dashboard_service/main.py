"""The dashboard_service app: `create_app(settings)` builds it; lifespan opens its ports
(`wiring.open_ports`).

Run it with `uvicorn --factory dashboard_service.main:create_app`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dashboard_service.api.routes.campaigns import router as campaigns_router
from dashboard_service.api.routes.metrics import router as metrics_router
from dashboard_service.api.routes.money import router as money_router
from dashboard_service.api.routes.session import router as session_router
from dashboard_service.api.routes.stream import router as stream_router
from dashboard_service.api.routes.web import DIST, web_router
from dashboard_service.api.routes.winners import router as winners_router
from dashboard_service.settings import DashboardSettings, get_settings
from dashboard_service.wiring import open_ports
from servicekit.body_limit import BodyLimit
from servicekit.health import health_router
from servicekit.http_errors import install_error_handlers
from servicekit.observability import install_observability
from servicekit.server_gc import serving_gc

DESCRIPTION = (
    "Campaign metrics for marketing staff. Send `Authorization: Bearer <dashboard or admin "
    "token>`, or sign in with `POST /v1/session` (the web UI at `/` does) for a session "
    "cookie. Live updates: `GET /v1/campaigns/{campaign_id}/stream` sends the same body as "
    "`.../metrics` as server-sent events (`event: metrics`) each time the campaign changes; "
    "see docs/dashboard.md."
)


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_settings()
        with open_ports(current) as ports, serving_gc(current.dashboard_gc_tuning):
            app.state.ports = ports
            yield

    app = FastAPI(
        title="Pulse dashboard",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_observability(app, "dashboard")
    app.add_middleware(BodyLimit, max_bytes=(settings or get_settings()).max_body_bytes)
    app.include_router(health_router(lambda: app.state.ports.readiness))
    routers = (
        campaigns_router,
        metrics_router,
        money_router,
        stream_router,
        session_router,
        winners_router,
    )
    for router in routers:
        app.include_router(router)
    app.include_router(web_router((settings or get_settings()).dashboard_web_dir or DIST))
    return app
