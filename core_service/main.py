"""core_service application: `create_app()` builds it; lifespan owns the engine and consumer."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
from fastapi import FastAPI

from core_service.adapters.redis_summary_cache import RedisSummaryCache
from core_service.adapters.summary_repository import SqlSummaryReader
from core_service.api.router import api_router
from core_service.domain.summaries import NoSummaryCache, SummaryCache
from core_service.settings import CoreSettings, get_settings
from core_service.worker import ConsumerThread
from migrations.engine import make_engine
from servicekit.database import Database
from servicekit.errors import install_error_handlers
from servicekit.health import ReadinessCheck, health_router
from servicekit.observability import install_observability
from servicekit.redis_client import open_redis, redis_ping

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    """The service cannot start with the given settings."""


def admin_token(settings: CoreSettings) -> str:
    if settings.admin_token is None or not settings.admin_token.get_secret_value().strip():
        raise ConfigurationError("PULSE_ADMIN_TOKEN must be set to start core_service")
    return settings.admin_token.get_secret_value().strip()


def create_app(settings: CoreSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.admin_token = admin_token(settings)
        app.state.db = Database(make_engine(settings.resolved_database_url))
        redis_client = open_redis(settings.redis_url) if settings.redis_url else None
        app.state.redis = redis_client
        app.state.summary_reader = SqlSummaryReader(app.state.db)
        summary_cache: SummaryCache = (
            RedisSummaryCache(redis_client) if redis_client is not None else NoSummaryCache()
        )
        app.state.summary_cache = summary_cache
        consumer = (
            ConsumerThread(settings, app.state.db, summary_cache)
            if settings.consumer_enabled
            else None
        )
        app.state.consumer = consumer
        if consumer is not None:
            consumer.start()
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop()
            if redis_client is not None:
                redis_client.close()
            app.state.db.dispose()

    app = FastAPI(
        title="Pulse core_service",
        summary="Admin API for sites, campaigns, activities and event definitions.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_observability(app, "core")
    app.include_router(health_router(lambda: _readiness(app), lambda: _degradable(app)))
    app.include_router(api_router)
    return app


def _readiness(app: FastAPI) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {"database": app.state.db.ping}
    consumer: ConsumerThread | None = app.state.consumer
    if consumer is not None:

        async def consumer_alive() -> None:
            if not consumer.is_alive():
                raise RuntimeError("consumer thread stopped")

        checks["consumer"] = consumer_alive
    return checks


def _degradable(app: FastAPI) -> dict[str, ReadinessCheck]:
    redis_client: redis.Redis | None = app.state.redis
    return {"redis": redis_ping(redis_client)} if redis_client is not None else {}
