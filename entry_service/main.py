"""entry_service application: `create_app()` builds it; lifespan owns the engine and publisher."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import redis
import redis.asyncio as aioredis
from fastapi import FastAPI

from common_messaging.bus import open_publisher
from entry_service.adapters.decision_waiter import DecisionWaiter
from entry_service.adapters.redis_sites import RedisCachedSiteDirectory
from entry_service.adapters.redis_visitors import RedisVisitorRegistry
from entry_service.adapters.sql_sites import CachedSqlSiteDirectory
from entry_service.adapters.sql_visitors import SqlVisitorRegistry
from entry_service.adapters.user_agent import parse_user_agent
from entry_service.api.deps import IngestPorts
from entry_service.api.openapi import install_openapi
from entry_service.api.routes import definitions, entries, events, snippet
from entry_service.domain.ingestion import Limits
from entry_service.domain.sites import SiteDirectory, VisitorRegistry
from entry_service.entry_wiring import entry_ports
from entry_service.settings import EntrySettings, get_settings
from migrations.engine import make_engine
from servicekit.database import Database
from servicekit.errors import install_error_handlers
from servicekit.health import ReadinessCheck, health_router
from servicekit.observability import install_observability
from servicekit.redis_client import open_async_redis, open_redis, redis_ping


def limits_from(settings: EntrySettings) -> Limits:
    return Limits(
        max_event_bytes=settings.max_event_bytes,
        max_batch_bytes=settings.max_batch_bytes,
        max_batch_events=settings.max_batch_events,
        new_user_window=timedelta(minutes=settings.new_user_window_minutes),
        retry_after_s=settings.publish_retry_after_s,
    )


def ingest_ports(
    settings: EntrySettings,
    database: Database,
    redis_client: redis.Redis | None,
    async_redis: aioredis.Redis | None,
) -> tuple[SiteDirectory, VisitorRegistry]:
    """Redis adapters when Redis is configured (database as fallback), else the embedded ones."""
    sql_visitors = SqlVisitorRegistry(database)
    if redis_client is None or async_redis is None:
        return CachedSqlSiteDirectory(database, settings.site_cache_ttl_s), sql_visitors
    sites = RedisCachedSiteDirectory(
        redis_client,
        database,
        ttl_s=settings.site_redis_ttl_s,
        local_ttl_s=settings.site_cache_ttl_s,
    )
    return sites, RedisVisitorRegistry(async_redis, sql_visitors)


def create_app(settings: EntrySettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(make_engine(settings.resolved_database_url))
        redis_client = open_redis(settings.redis_url) if settings.redis_url else None
        # The event loop's own client, for the per-request paths (visitors, gate, limits).
        async_redis = (
            open_async_redis(
                settings.redis_url, max_connections=settings.entry_redis_max_connections
            )
            if settings.redis_url
            else None
        )
        publisher = open_publisher(settings.bus_settings())
        sites, visitors = ingest_ports(settings, database, redis_client, async_redis)
        app.state.settings = settings
        app.state.db = database
        app.state.redis = redis_client
        app.state.ports = IngestPorts(
            sites=sites,
            visitors=visitors,
            publisher=publisher,
            parse_user_agent=parse_user_agent,
            limits=limits_from(settings),
        )
        try:
            async with AsyncExitStack() as stack:
                app.state.entry_ports, app.state.decision_waiter = await entry_ports(
                    settings, database, redis_client, async_redis, publisher, stack
                )
                yield
        finally:
            publisher.close()
            if async_redis is not None:
                await async_redis.aclose()
            if redis_client is not None:
                redis_client.close()
            database.dispose()

    app = FastAPI(
        title="Pulse entry_service",
        summary="Public edge: event definitions for the snippet, event batches in, "
        "campaign entries.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_observability(app, "entry")
    install_openapi(app)
    app.include_router(health_router(lambda: _readiness(app), lambda: _degradable(app)))
    app.include_router(definitions.router)
    app.include_router(events.router)
    app.include_router(entries.router)
    app.include_router(snippet.snippet_router(settings))
    return app


def _readiness(app: FastAPI) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {"database": app.state.db.ping}
    waiter: DecisionWaiter | None = app.state.decision_waiter
    if waiter is not None:

        async def waiter_alive() -> None:
            if not waiter.is_alive():
                raise RuntimeError("entry decision listener stopped")

        checks["entry_decisions"] = waiter_alive
    return checks


def _degradable(app: FastAPI) -> dict[str, ReadinessCheck]:
    redis_client: redis.Redis | None = app.state.redis
    return {"redis": redis_ping(redis_client)} if redis_client is not None else {}
