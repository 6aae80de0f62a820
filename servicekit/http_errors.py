"""The one mapping of Pulse's errors to HTTP: every error, of every service, in one JSON shape
`{"error": {"code", "message", "details"}}`."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from servicekit.errors import PulseError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as `{field, message, type}` rows a client can show next to inputs."""
    rows = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        rows.append(
            {"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")}
        )
    return rows


def error_response(exc: PulseError) -> JSONResponse:
    return JSONResponse(
        error_body(exc.error_code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PulseError)
    async def _pulse_error(request: Request, exc: PulseError) -> JSONResponse:
        if exc.status_code >= 500:
            log.warning("request_failed code=%s path=%s", exc.error_code, request.url.path)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_input", "request did not validate", field_errors(exc)),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error path=%s", request.url.path)
        return JSONResponse(
            error_body("internal_error", "unexpected server error; it has been logged"),
            status_code=500,
        )
