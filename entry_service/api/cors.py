"""CORS for the public endpoints: the origin is echoed only when the site allows it."""

from fastapi import Response

PREFLIGHT_MAX_AGE_S = 3600


def allow_origin(response: Response, origin: str | None) -> None:
    response.headers["Vary"] = "Origin"
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin


def cors_headers(origin: str | None) -> dict[str, str]:
    """For error answers of public endpoints, so the page's script can read why."""
    return {"Vary": "Origin", "Access-Control-Allow-Origin": origin} if origin else {}


def preflight(origin: str | None) -> Response:
    """Preflights carry no site key, so they are answered for any origin; the POST is checked."""
    response = Response(status_code=204)
    allow_origin(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = (
        "Content-Type, If-None-Match, Idempotency-Key"
    )
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    return response
