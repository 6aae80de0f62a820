"""The dashboard_service app: `create_app()` wires settings, engines and routers together.

Run it with `uvicorn --factory dashboard_service.main:create_app`.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from elasticsearch import Elasticsearch
from fastapi import FastAPI

from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.sql_analytics import SqlAnalyticsStore
from dashboard_service.adapters.sql_catalog import SqlCampaignCatalog
from dashboard_service.api.routes.campaigns import router as campaigns_router
from dashboard_service.api.routes.metrics import router as metrics_router
from dashboard_service.api.routes.session import router as session_router
from dashboard_service.api.routes.stream import router as stream_router
from dashboard_service.api.routes.web import DIST, web_router
from dashboard_service.domain.live import LiveMetrics, StreamSlots
from dashboard_service.domain.sign_in_guard import SignInGuard
from dashboard_service.errors import MissingReadToken
from dashboard_service.settings import DashboardSettings, get_settings
from migrations.engine import make_engine
from servicekit.database import Database
from servicekit.errors import install_error_handlers
from servicekit.health import ReadinessCheck, health_router
from servicekit.observability import install_observability
from servicekit.secrets import persistent_token

DESCRIPTION = (
    "Campaign metrics for marketing staff. Send `Authorization: Bearer <dashboard or admin "
    "token>`, or sign in with `POST /v1/session` (the web UI at `/` does) for a session "
    "cookie. Live updates: `GET /v1/campaigns/{campaign_id}/stream` sends the same body as "
    "`.../metrics` as server-sent events (`event: metrics`) each time the campaign changes; "
    "see docs/dashboard.md."
)
TOKEN_FILE = "dashboard_token"
TOKEN_PREFIX = "dash_"


def read_tokens(settings: DashboardSettings) -> list[str]:
    """The dashboard and admin tokens that are set; the embedded default makes its own."""
    tokens = [
        secret.get_secret_value()
        for secret in (settings.dashboard_token, settings.admin_token)
        if secret is not None and secret.get_secret_value()
    ]
    if tokens:
        return tokens
    if settings.database_url is None:
        return [persistent_token(settings.data_dir / TOKEN_FILE, TOKEN_PREFIX)]
    raise MissingReadToken(
        "dashboard_service needs a token on a configured database: "
        "set PULSE_DASHBOARD_TOKEN (or PULSE_ADMIN_TOKEN)"
    )


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or get_settings()
        app.state.read_tokens = read_tokens(resolved)
        db = Database(make_engine(resolved.resolved_database_url))
        app.state.db = db
        es: Elasticsearch | None = None
        if resolved.elasticsearch_url:
            # The client connects lazily: building it needs no reachable cluster.
            es = Elasticsearch(resolved.elasticsearch_url, request_timeout=10)
            app.state.analytics_store = ElasticsearchAnalyticsStore(
                es, resolved.elasticsearch_index_prefix
            )
        else:
            app.state.analytics_store = SqlAnalyticsStore(db.engine)
        app.state.catalog = SqlCampaignCatalog(db.engine)
        app.state.live = LiveMetrics(
            app.state.catalog,
            app.state.analytics_store,
            interval_s=resolved.dashboard_stream_interval_s,
            max_stream_s=resolved.dashboard_stream_max_s,
        )
        app.state.stream_slots = StreamSlots(resolved.dashboard_max_streams)
        app.state.session_hours = resolved.dashboard_session_hours
        app.state.sign_in_guard = SignInGuard(
            resolved.dashboard_sign_in_failures, timedelta(minutes=15)
        )
        try:
            yield
        finally:
            if es is not None:
                es.close()
            db.dispose()

    app = FastAPI(
        title="Pulse dashboard",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_observability(app, "dashboard")
    app.include_router(health_router(lambda: _readiness(app)))
    for router in (campaigns_router, metrics_router, stream_router, session_router):
        app.include_router(router)
    app.include_router(web_router((settings or get_settings()).dashboard_web_dir or DIST))
    return app


def _readiness(app: FastAPI) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {"database": app.state.db.ping}
    store = app.state.analytics_store
    if isinstance(store, ElasticsearchAnalyticsStore):

        async def elasticsearch() -> None:
            await asyncio.to_thread(store.ping)

        checks["elasticsearch"] = elasticsearch
    return checks
