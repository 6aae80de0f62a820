"""The HTTP side of tracing: one SERVER span per request (servicekit.tracing holds the rest,
free of any web framework, so domain code may stamp trace context on its messages)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.tracing import enabled, server_span


class ServerSpanMiddleware:
    """One SERVER span per HTTP request when tracing is on, named by the route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not enabled() or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with server_span(scope["method"], headers) as current:
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                current.update_name(f"{scope['method']} {route}")
                current.set_attribute("http.route", route)
                current.set_attribute("http.response.status_code", status)
