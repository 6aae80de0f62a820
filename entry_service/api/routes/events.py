"""`POST /v1/events`: a batch of occurrences (a single event is a batch of one)."""

import logging
from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from entry_service import metrics
from entry_service.api.body import read_capped
from entry_service.api.cors import allow_origin, grant_on_error, preflight
from entry_service.api.deps import PortsDep, SettingsDep
from entry_service.api.openapi import BATCH_SCHEMA_REF
from entry_service.api.schemas import BatchAccepted
from entry_service.domain.ingestion import IngestPorts, RequestContext, ingest
from entry_service.errors import UserTokenInvalid
from servicekit.auth import bearer_token
from servicekit.clock import utc_now
from servicekit.errors import PulseError

log = logging.getLogger(__name__)
router = APIRouter(tags=["public"])


@router.post(
    "/v1/events",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": BATCH_SCHEMA_REF}},
                "text/plain": {"schema": {"$ref": BATCH_SCHEMA_REF}},
            },
        }
    },
)
async def post_events(request: Request, ports: PortsDep, settings: SettingsDep) -> Response:
    return await answer_events(request, ports, settings.max_batch_bytes)


async def answer_events(request: Request, ports: IngestPorts, max_batch_bytes: int) -> Response:
    """The batch once the route's dependencies are read: by this route, or by the direct route
    (entry_service/api/routes/direct_events.py) that serves the same requests without FastAPI's
    per-request dependency solving."""
    origin = request.headers.get("origin")
    try:
        # Inside: a page must be able to read a 413 too, or the snippet retries what it
        # should drop.
        raw = await read_capped(request, max_batch_bytes)
        ctx = RequestContext(origin, request.headers.get("user-agent"), utc_now())
        result = await ingest(raw, ctx, ports.limits, ports.sites, ports.publisher)
    except PulseError as exc:  # readable by the snippet, so it drops a 4xx and retries a 503
        metrics.batch_refused(exc)
        grant_on_error(exc, origin)
        raise
    metrics.events_ingested(result.accepted, [r.error for r in result.rejected])
    log.debug("events_accepted accepted=%d rejected=%d", result.accepted, len(result.rejected))
    body = {"accepted": result.accepted, "rejected": [asdict(r) for r in result.rejected]}
    response = JSONResponse(body, status_code=202)
    allow_origin(response, origin)
    return response


@router.options("/v1/events", include_in_schema=False)
async def events_preflight(request: Request) -> Response:
    return preflight(request.headers.get("origin"))


@router.post(
    "/v1/server/events",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": BATCH_SCHEMA_REF}}},
        }
    },
)
async def post_server_events(request: Request, ports: PortsDep, settings: SettingsDep) -> Response:
    """The site's own backend posts events it vouches for (orders, sign-ups), authenticated with
    `Authorization: Bearer <the site's signing secret>`. Only such events, and those posted
    with the user's signed `user_token`, move the user summary's purchase facts."""
    secret = bearer_token(request)
    if secret is None:
        raise UserTokenInvalid("send `Authorization: Bearer <the site's signing secret>`")
    raw = await read_capped(request, settings.max_batch_bytes)
    ctx = RequestContext(None, request.headers.get("user-agent"), utc_now(), server_secret=secret)
    result = await ingest(raw, ctx, ports.limits, ports.sites, ports.publisher)
    return JSONResponse(
        {"accepted": result.accepted, "rejected": [asdict(r) for r in result.rejected]},
        status_code=202,
    )
