"""core_service application: `create_app(settings)` builds it; lifespan opens its ports
(`wiring.open_ports`) and, unless `consumer_enabled` is off, runs the consumers beside it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core_service.api.router import api_router
from core_service.api.routes.payments import payments_router
from core_service.consumer.runner import ConsumerThreads
from core_service.settings import CoreSettings, get_settings
from core_service.wiring import open_consumers, open_ports, open_webhook_dispatcher
from servicekit.body_limit import BodyLimit
from servicekit.health import ReadinessCheck, health_router
from servicekit.http_errors import install_error_handlers
from servicekit.observability import install_observability
from servicekit.server_gc import serving_gc


def create_app(settings: CoreSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_ports(settings) as ports:
            app.state.ports = ports
            consumers = (
                open_consumers(
                    settings, ports.database, ports.summary_cache, redis_client=ports.redis
                )
                if settings.consumer_enabled
                else None
            )
            # The webhook dispatcher runs wherever the consumers do (`pulse run`, embedded).
            webhooks = (
                open_webhook_dispatcher(settings, ports.database)
                if settings.consumer_enabled
                else None
            )
            app.state.consumers = consumers
            # Set before the loops start: what startup built is frozen out of collections.
            with serving_gc(settings.core_gc_tuning):
                if consumers is not None and webhooks is not None:
                    consumers.start()
                    webhooks.start()
                try:
                    yield
                finally:
                    if consumers is not None and webhooks is not None:
                        consumers.stop()
                        webhooks.stop()

    app = FastAPI(
        title="Pulse core_service",
        summary="Admin API for sites, campaigns, activities and event definitions.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_observability(app, "core")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health_router(lambda: readiness(app), lambda: app.state.ports.degradable()))
    app.include_router(api_router)
    app.include_router(payments_router(settings.payment_signature_tolerance_s))
    return app


def readiness(app: FastAPI) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {"database": app.state.ports.database.ping}
    consumers: ConsumerThreads | None = app.state.consumers
    if consumers is not None:
        checks["consumer"] = consumers.check
    return checks
