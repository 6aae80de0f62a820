"""`POST /v1/events`: a batch of occurrences (a single event is a batch of one)."""

from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from entry_service.api.body import read_capped
from entry_service.api.cors import allow_origin, preflight
from entry_service.api.deps import PortsDep, SettingsDep
from entry_service.api.schemas import BatchAccepted
from entry_service.domain.ingestion import RequestContext, ingest
from servicekit.clock import utc_now

router = APIRouter(tags=["public"])

_BATCH_EXAMPLE = {
    "site_key": "pk_...",
    "events": [
        {
            "event_id": "9b2f3c1e-4c1a-4d0e-8a57-3f0c7d9e2b11",
            "name": "Product Viewed",
            "type": "page_view",
            "occurred_at": "2026-11-23T10:00:00Z",
            "anonymous_id": "anon-123",
            "url": "https://shop.example/products/1",
        }
    ],
}


@router.post(
    "/v1/events",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra={"requestBody": {"content": {"application/json": {"example": _BATCH_EXAMPLE}}}},
)
async def post_events(request: Request, ports: PortsDep, settings: SettingsDep) -> Response:
    origin = request.headers.get("origin")
    raw = await read_capped(request, settings.max_batch_bytes)
    ctx = RequestContext(origin, request.headers.get("user-agent"), utc_now())
    result = await ingest(
        raw, ctx, ports.limits, ports.sites, ports.visitors, ports.parse_user_agent, ports.publisher
    )
    body = {"accepted": result.accepted, "rejected": [asdict(r) for r in result.rejected]}
    response = JSONResponse(body, status_code=202)
    allow_origin(response, origin)
    return response


@router.options("/v1/events", include_in_schema=False)
async def events_preflight(request: Request) -> Response:
    return preflight(request.headers.get("origin"))
