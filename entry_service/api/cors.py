"""CORS for the public endpoints: the origin is echoed only when the site allows it."""

from fastapi import Response

from entry_service.errors import OriginNotAllowed
from servicekit.errors import PulseError

PREFLIGHT_MAX_AGE_S = 3600


EXPOSED = "Retry-After, ETag"


def allow_origin(response: Response, origin: str | None) -> None:
    response.headers["Vary"] = "Origin"
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED


def grant_on_error(exc: PulseError, origin: str | None) -> None:
    """Let the page's script read why it was refused (so it drops a 4xx, retries a 503),
    except when the refusal is the origin itself: other origins get no CORS grant at all."""
    exc.headers["Vary"] = "Origin"
    if origin and not isinstance(exc, OriginNotAllowed):
        exc.headers["Access-Control-Allow-Origin"] = origin
        exc.headers["Access-Control-Expose-Headers"] = EXPOSED


def preflight(origin: str | None) -> Response:
    """Preflights carry no site key, so they are answered for any origin; the POST is checked."""
    response = Response(status_code=204)
    allow_origin(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = (
        "Authorization, Content-Type, If-None-Match, Idempotency-Key"
    )
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    return response
