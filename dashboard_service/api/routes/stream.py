"""`GET /v1/campaigns/{campaign_id}/stream`: the campaign's metrics as server-sent events.

The first event is the view as it is now; the next ones come when the campaign has new events
(see domain/live.py). Same filters and credentials as `.../metrics`; the web UI's EventSource
authenticates with its session cookie. Not in the OpenAPI document: an endless response is no
request/response operation (docs/dashboard.md describes it).
"""

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from dashboard_service.api.deps import (
    ClockDep,
    LiveDep,
    MetricsRequestDep,
    StreamSlotsDep,
    require_reader,
)
from dashboard_service.api.sse import event_stream

router = APIRouter(prefix="/v1", tags=["metrics"], dependencies=[Depends(require_reader)])


@router.get("/campaigns/{campaign_id}/stream", include_in_schema=False)
async def stream_campaign_metrics(
    request: MetricsRequestDep, live: LiveDep, slots: StreamSlotsDep, clock: ClockDep
) -> StreamingResponse:
    slot = slots.acquire()  # 503 too_many_streams when every slot is taken
    try:
        marker, first = await live.first(request, clock)  # 404/422 here, before any byte
    except BaseException:
        slot.release()
        raise
    return event_stream(first, live.updates(request, clock, marker), slot)
