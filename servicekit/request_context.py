"""A request id for every HTTP request: the caller's `X-Request-ID` when well-formed, else a new
one; set for the logs of the request and echoed in the response, so a client's report can be
matched to the server's lines."""

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.log_context import REQUEST_ID

HEADER = b"x-request-id"
# Bounded and plain, so a caller cannot inject a log line or a huge value.
_VALID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):  # the last one, as before
            if name == HEADER:
                given = value
        request_id = given.decode() if _VALID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
