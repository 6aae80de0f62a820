"""Server-sent events framing of live metrics: `event_stream` builds the streaming response."""

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from dashboard_service.api.schemas import MetricsResponse
from dashboard_service.domain.live import StreamSlot
from dashboard_service.domain.models import CampaignMetrics

RETRY_MS = 2000  # how long EventSource waits before it reconnects
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx and friends: do not buffer the stream
}


def metrics_frame(metrics: CampaignMetrics) -> str:
    """One `metrics` event; the compact JSON has no newline, so it fits one `data:` line."""
    data = MetricsResponse.model_validate(metrics).model_dump_json(by_alias=True)
    return f"event: metrics\ndata: {data}\n\n"


async def _frames(
    first: CampaignMetrics, updates: AsyncIterator[CampaignMetrics], slot: StreamSlot
) -> AsyncIterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield metrics_frame(first)
        async for metrics in updates:
            yield metrics_frame(metrics)
    finally:  # the client left (the task is cancelled), or the stream reached its lifetime
        slot.release()


def event_stream(
    first: CampaignMetrics, updates: AsyncIterator[CampaignMetrics], slot: StreamSlot
) -> StreamingResponse:
    return StreamingResponse(
        _frames(first, updates, slot),
        media_type="text/event-stream",
        headers=HEADERS,
        # Also releases the slot if the client is gone before the body is ever iterated.
        background=BackgroundTask(slot.release),
    )
