"""Live campaign metrics for the dashboard's event stream: `LiveMetrics` and `StreamSlots`.

Each stream checks about once a second whether its campaign has new events, through the store's
cheap change marker (a count), and only then recomputes the metrics, with the same single
aggregate request as `GET .../metrics`. Streams share the work: a campaign's marker is read at
most once per interval whatever the number of streams watching it, and streams asking for the
same view reuse one computation of it. Without new events a stream still recomputes now and then
(`refresh_s`), so a window that ends "now" keeps moving. A stream ends after `max_stream_s`; the
browser's EventSource reconnects by itself, and the reconnection checks its credentials again.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from dashboard_service.domain.metrics import campaign_metrics
from dashboard_service.domain.models import CampaignMetrics, MetricsRequest
from dashboard_service.domain.ports import AnalyticsStore, CampaignCatalog, MoneyStore
from dashboard_service.errors import AnalyticsUnavailable, CampaignNotFound, TooManyStreams
from servicekit.clock import Clock

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class StreamSlot:
    def __init__(self, slots: "StreamSlots") -> None:
        self._slots: StreamSlots | None = slots

    def release(self) -> None:
        """Give the slot back; calling it again does nothing."""
        if self._slots is not None:
            self._slots.active -= 1
            self._slots = None


class StreamSlots:
    """At most `limit` open streams per process (used from the event loop only: no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def acquire(self) -> StreamSlot:
        if self.active >= self.limit:
            raise TooManyStreams(self.limit)
        self.active += 1
        return StreamSlot(self)


@dataclass(frozen=True, slots=True)
class _Memo(Generic[V]):
    value: V
    at: float
    marker: int = 0


class _Memos(Generic[K, V]):
    """Recent values by key; entries older than `keep_s` are dropped as new ones come in."""

    def __init__(self, keep_s: float) -> None:
        self._keep_s = keep_s
        self._items: dict[K, _Memo[V]] = {}

    def get(self, key: K, now: float, max_age_s: float) -> _Memo[V] | None:
        memo = self._items.get(key)
        return memo if memo is not None and now - memo.at < max_age_s else None

    def put(self, key: K, memo: _Memo[V]) -> None:
        self._items = {k: m for k, m in self._items.items() if memo.at - m.at < self._keep_s}
        self._items[key] = memo


class LiveMetrics:
    def __init__(
        self,
        catalog: CampaignCatalog,
        store: AnalyticsStore,
        *,
        money: MoneyStore | None = None,
        interval_s: float = 1.0,
        refresh_s: float = 10.0,
        max_stream_s: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._money = money
        self.interval_s = interval_s
        self._refresh_s = refresh_s
        self._max_stream_s = max_stream_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._markers: _Memos[UUID, int] = _Memos(keep_s=max(refresh_s, interval_s))
        self._views: _Memos[MetricsRequest, CampaignMetrics] = _Memos(keep_s=refresh_s)

    async def first(self, request: MetricsRequest, clock: Clock) -> tuple[int, CampaignMetrics]:
        """The view as it is now, and the marker it was computed at; raises as `metrics` does."""
        marker = await self._marker(request.campaign_id)
        return marker, await self._metrics(request, marker, clock, self.interval_s)

    async def updates(
        self, request: MetricsRequest, clock: Clock, marker: int
    ) -> AsyncIterator[CampaignMetrics]:
        """Fresh metrics each time the campaign changes, until `max_stream_s` is over."""
        started = pushed = self._monotonic()
        while self._monotonic() - started < self._max_stream_s:
            await self._sleep(self.interval_s)
            try:
                current = await self._marker(request.campaign_id)
                if current == marker and self._monotonic() - pushed < self._refresh_s:
                    continue
                metrics = await self._metrics(request, current, clock, self.interval_s)
            except AnalyticsUnavailable as exc:  # keep the stream; the page shows its age
                log.warning(
                    "live_update_skipped campaign_id=%s reason=%s", request.campaign_id, exc
                )
                continue
            except CampaignNotFound:  # gone meanwhile: end the stream; a reconnection gets 404
                return
            marker, pushed = current, self._monotonic()
            yield metrics

    async def _marker(self, campaign_id: UUID) -> int:
        now = self._monotonic()
        memo = self._markers.get(campaign_id, now, self.interval_s)
        if memo is not None:
            return memo.value
        value = await asyncio.to_thread(self._store.change_marker, campaign_id)
        self._markers.put(campaign_id, _Memo(value, now))
        return value

    async def _metrics(
        self, request: MetricsRequest, marker: int, clock: Clock, max_age_s: float
    ) -> CampaignMetrics:
        now = self._monotonic()
        memo = self._views.get(request, now, max_age_s)
        if memo is not None and memo.marker == marker:
            return memo.value
        metrics = await asyncio.to_thread(
            campaign_metrics, request, self._catalog, self._store, clock(), self._money
        )
        self._views.put(request, _Memo(metrics, now, marker))
        return metrics
