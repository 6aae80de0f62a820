"""entry_service application: `create_app()` builds it; lifespan owns the engine and publisher."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from common_messaging.bus import BusSettings, open_publisher
from entry_service.adapters.sql_sites import CachedSqlSiteDirectory
from entry_service.adapters.sql_visitors import SqlVisitorRegistry
from entry_service.adapters.user_agent import parse_user_agent
from entry_service.api.deps import IngestPorts
from entry_service.api.openapi import install_openapi
from entry_service.api.routes import definitions, events
from entry_service.domain.ingestion import Limits
from entry_service.settings import EntrySettings, get_settings
from migrations.engine import make_engine
from servicekit.database import Database
from servicekit.errors import install_error_handlers
from servicekit.health import health_router


def limits_from(settings: EntrySettings) -> Limits:
    return Limits(
        max_event_bytes=settings.max_event_bytes,
        max_batch_bytes=settings.max_batch_bytes,
        max_batch_events=settings.max_batch_events,
        new_user_window=timedelta(minutes=settings.new_user_window_minutes),
        retry_after_s=settings.publish_retry_after_s,
    )


def create_app(settings: EntrySettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(make_engine(settings.resolved_database_url))
        publisher = open_publisher(BusSettings(data_dir=settings.data_dir))
        app.state.settings = settings
        app.state.db = database
        app.state.ports = IngestPorts(
            sites=CachedSqlSiteDirectory(database, settings.site_cache_ttl_s),
            visitors=SqlVisitorRegistry(database),
            publisher=publisher,
            parse_user_agent=parse_user_agent,
            limits=limits_from(settings),
        )
        try:
            yield
        finally:
            publisher.close()
            database.dispose()

    app = FastAPI(
        title="Pulse entry_service",
        summary="Public edge: event definitions for the snippet, event batches in.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health_router(lambda: {"database": app.state.db.ping}))
    app.include_router(definitions.router)
    app.include_router(events.router)
    return app
