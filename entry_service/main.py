"""entry_service application: `create_app(settings)` builds it; lifespan opens its ports
(`wiring.open_ports`) and closes them."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from entry_service.api.openapi import install_openapi
from entry_service.api.routes import definitions, entries, events, snippet
from entry_service.api.routes.direct_entries import serve_entries_directly
from entry_service.api.routes.direct_events import serve_events_directly
from entry_service.settings import EntrySettings, get_settings
from entry_service.wiring import EntryServicePorts, open_ports
from servicekit.body_limit import BodyLimit
from servicekit.health import health_router
from servicekit.http_errors import install_error_handlers
from servicekit.observability import install_observability
from servicekit.server_gc import serving_gc

PortsFactory = Callable[[EntrySettings], AbstractAsyncContextManager[EntryServicePorts]]


def create_app(
    settings: EntrySettings | None = None, open_ports: PortsFactory = open_ports
) -> FastAPI:
    """The app on `settings`; `open_ports` is the composition root (swappable, as Cosmic
    Python's bootstrap is, for a benchmark's variant)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        async with open_ports(settings) as ports:
            app.state.ports = ports
            with serving_gc(settings.entry_gc_tuning):
                yield

    app = FastAPI(
        title="Pulse entry_service",
        summary="Public edge: event definitions for the snippet, event batches in, "
        "campaign entries.",
        version="0.1.0",
        lifespan=lifespan,
        # Tracing and metrics are servicekit's (install_observability). FastAPI's own telemetry,
        # left on, would look up OpenTelemetry's global providers on every request only to find
        # none set.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Batches get their own, precise 413 (with CORS) from the route; this cap is for the rest.
    install_error_handlers(app)
    install_observability(app, "entry")
    app.add_middleware(
        BodyLimit, max_bytes=max(settings.max_body_bytes, 2 * settings.max_batch_bytes)
    )
    install_openapi(app)
    app.include_router(
        health_router(lambda: app.state.ports.readiness, lambda: app.state.ports.degradable)
    )
    app.include_router(definitions.router)
    app.include_router(events.router)
    app.include_router(entries.router)
    # The two hottest routes' requests, without FastAPI's per-request solving.
    serve_entries_directly(app)
    serve_events_directly(app)
    app.include_router(snippet.snippet_router(settings))
    return app
