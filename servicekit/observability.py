"""What every service's app gets for operations: request ids for the logs, HTTP metrics and,
when tracing is configured, a server span per request."""

from fastapi import FastAPI

from servicekit.http_metrics import HttpMetricsMiddleware
from servicekit.request_context import RequestIdMiddleware
from servicekit.trace_middleware import ServerSpanMiddleware


def install_observability(app: FastAPI, service: str) -> None:
    app.state.service_name = service
    app.add_middleware(HttpMetricsMiddleware, service=service)
    app.add_middleware(ServerSpanMiddleware)  # does nothing unless tracing is configured
    # Added last, so outermost: the request id is set for everything inside, metrics included.
    app.add_middleware(RequestIdMiddleware)
