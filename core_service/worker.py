"""`pulse worker`: core_service's consumers and the shop webhooks' dispatcher alone, so they
deploy and scale apart from the admin API (one process per Kafka partition at most). It serves
only `/healthz`, `/readyz` and `/metrics` (default port 8083), for the orchestrator's probes and
Prometheus."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core_service.settings import CoreSettings
from core_service.wiring import open_consumers, open_webhook_dispatcher, open_worker_ports
from servicekit.health import health_router
from servicekit.http_errors import install_error_handlers
from servicekit.observability import install_observability
from servicekit.server_gc import serving_gc


def create_worker_app(settings: CoreSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_worker_ports(settings) as ports:
            consumers = open_consumers(
                settings,
                ports.database,
                ports.summary_cache,
                report_lag=True,
                redis_client=ports.redis,
            )
            webhooks = open_webhook_dispatcher(settings, ports.database)
            app.state.ports = ports
            app.state.consumers = consumers
            app.state.webhooks = webhooks
            # Set before the loops start: what startup built is frozen out of collections.
            with serving_gc(settings.core_gc_tuning):
                consumers.start()
                webhooks.start()
                try:
                    yield
                finally:
                    # Offsets are committed batch by batch; stopping waits for the current one.
                    consumers.stop()
                    webhooks.stop()

    app = FastAPI(title="Pulse core_service worker", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    install_observability(app, "worker")
    app.include_router(
        health_router(
            lambda: {
                "database": app.state.ports.database.ping,
                "consumer": app.state.consumers.check,
                "webhooks": app.state.webhooks.check,
            },
            lambda: app.state.ports.degradable(),
        )
    )
    return app
