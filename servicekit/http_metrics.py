"""HTTP request rate, latency and status by route template, for every service's /metrics.

The route label is the matched route's template (`/v1/campaigns/{campaign_id}/metrics`), never
the raw path, and `unmatched` for requests no route took: the label set stays bounded whatever
URLs clients send.
"""

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "pulse_http_requests_total",
    "HTTP requests answered, by service, method, route template and status code",
    ["service", "method", "route", "status"],
)
DURATION = Histogram(
    "pulse_http_request_duration_seconds",
    "Time to answer an HTTP request, by service, method and route template",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # Each label set's children, looked up once: `labels()` validates and locks on every
        # call. The label sets are bounded (see above), so is this.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_of(scope)
            children = self._children.get((method, route, status))
            if children is None:
                children = self._children[(method, route, status)] = (
                    REQUESTS.labels(self.service, method, route, str(status)),
                    DURATION.labels(self.service, method, route),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - start)
