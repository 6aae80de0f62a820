"""A cap on request bodies, applied before any route parses or authenticates anything.

A declared `Content-Length` over the cap is answered 413 at once, without reading the body
(one within it is passed on untouched: the server frames the body by that length); a body
streamed without one is counted as it arrives and refused as soon as it passes the cap, so a
service never holds more than the cap in memory for one request.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.errors import PayloadTooLarge
from servicekit.http_errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self._max:
            refusal = PayloadTooLarge(
                f"the body is {declared} bytes; this API takes at most {self._max}"
            )
            await error_response(refusal)(scope, receive, send)
            return
        if declared is not None:  # the server reads no more than a declared length
            await self._app(scope, receive, send)
            return
        seen = 0
        refused: PayloadTooLarge | None = None

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max:
                    refused = PayloadTooLarge(f"the body exceeds {self._max} bytes, the limit")
                    raise refused
            return message

        async def answered(message: Message) -> None:
            # Whatever the app made of the interrupted read (FastAPI says 400), the client
            # learns the real reason: the 413, sent once in place of the app's response.
            if refused is None:
                await send(message)
            elif message["type"] == "http.response.start":
                await error_response(refused)(scope, receive, send)

        await self._app(scope, counted, answered)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
