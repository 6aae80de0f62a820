"""LiveMetrics with a fake store and a fake clock: when updates are pushed, and what is shared."""

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from dashboard_service.domain.live import LiveMetrics, StreamSlots
from dashboard_service.domain.models import (
    CampaignInfo,
    CampaignSummary,
    Measures,
    MetricsQuery,
    MetricsRequest,
    RawAggregates,
)
from dashboard_service.domain.paging import CursorKey
from dashboard_service.errors import AnalyticsUnavailable, TooManyStreams

T = TypeVar("T")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CAMPAIGN = CampaignInfo(uuid.uuid4(), "Live", uuid.uuid4(), None, None, "active")
REQUEST = MetricsRequest(CAMPAIGN.id)


@dataclass
class FakeTime:
    """Sleeping moves the clock on; with `frozen`, only the test does (several streams then
    wake at the same instant, as they would in real time)."""

    now: float = 0.0
    frozen: bool = False

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if not self.frozen:
            self.now += seconds
        await asyncio.sleep(0)


@dataclass
class FakeStore:
    """Its marker is the number of visits; `failures` markers raise first."""

    visits: int = 0
    failures: int = 0
    marker_reads: int = 0
    computations: list[MetricsQuery] = field(default_factory=list)

    def change_marker(self, campaign_id: uuid.UUID) -> int:
        self.marker_reads += 1
        if self.failures:
            self.failures -= 1
            raise AnalyticsUnavailable("down")
        return self.visits

    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        self.computations.append(query)
        return RawAggregates(totals=Measures(events=self.visits, visits=self.visits))


class FakeCatalog:
    def __init__(self) -> None:
        self.campaigns = {CAMPAIGN.id: CAMPAIGN}

    def get_campaign(self, campaign_id: uuid.UUID) -> CampaignInfo | None:
        return self.campaigns.get(campaign_id)

    def list_campaigns(self, after: CursorKey | None, limit: int) -> list[CampaignSummary]:
        return []


def live(
    store: FakeStore, clock: FakeTime, catalog: FakeCatalog | None = None, **options: float
) -> LiveMetrics:
    defaults: dict[str, Any] = {"interval_s": 1.0, "refresh_s": 10.0, "max_stream_s": 5.0}
    return LiveMetrics(
        catalog or FakeCatalog(),
        store,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        **(defaults | options),
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def test_a_change_is_pushed_at_the_next_check() -> None:
    clock, store = FakeTime(), FakeStore(visits=3)

    async def scenario() -> tuple[int, int, float]:
        metrics = live(store, clock)
        marker, first = await metrics.first(REQUEST, lambda: NOW)
        updates = metrics.updates(REQUEST, lambda: NOW, marker)
        store.visits = 4
        update = await anext(updates)
        return first.totals.visits, update.totals.visits, clock.now

    assert run(scenario()) == (3, 4, 1.0)  # one interval after the change, not later


def test_nothing_is_recomputed_without_a_change_until_the_stream_ends() -> None:
    clock, store = FakeTime(), FakeStore(visits=3)

    async def scenario() -> list[int]:
        metrics = live(store, clock, max_stream_s=5.0)
        marker, _ = await metrics.first(REQUEST, lambda: NOW)
        return [m.totals.visits async for m in metrics.updates(REQUEST, lambda: NOW, marker)]

    assert run(scenario()) == []
    assert len(store.computations) == 1  # the first view only
    assert store.marker_reads == 6  # one at the start, then one per second for 5 s
    assert clock.now == 5.0


def test_without_changes_the_view_still_refreshes_now_and_then() -> None:
    clock, store = FakeTime(), FakeStore(visits=1)

    async def scenario() -> list[float]:
        metrics = live(store, clock, refresh_s=10.0, max_stream_s=35.0)
        marker, _ = await metrics.first(REQUEST, lambda: NOW)
        return [clock.now async for _ in metrics.updates(REQUEST, lambda: NOW, marker)]

    assert run(scenario()) == [10.0, 20.0, 30.0]


def test_streams_of_one_campaign_share_marker_reads_and_computations() -> None:
    clock, store = FakeTime(), FakeStore(visits=1)

    async def scenario() -> list[int]:
        metrics = live(store, clock)
        streams = []
        for _ in range(3):
            marker, _ = await metrics.first(REQUEST, lambda: NOW)
            streams.append(metrics.updates(REQUEST, lambda: NOW, marker))
        store.visits = 2
        clock.frozen, clock.now = True, 1.0  # all three wake at t=1
        return [(await anext(stream)).totals.visits for stream in streams]

    assert run(scenario()) == [2, 2, 2]
    assert len(store.computations) == 2  # the first view, then the change: once for all three
    assert store.marker_reads == 2  # at the start, and at t=1: once for all three


def test_an_unavailable_store_skips_a_check_but_keeps_the_stream() -> None:
    clock, store = FakeTime(), FakeStore(visits=1)

    async def scenario() -> tuple[int, float]:
        metrics = live(store, clock)
        marker, _ = await metrics.first(REQUEST, lambda: NOW)
        store.visits, store.failures = 2, 2
        update = await anext(metrics.updates(REQUEST, lambda: NOW, marker))
        return update.totals.visits, clock.now

    assert run(scenario()) == (2, 3.0)  # t=1 and t=2 failed; t=3 pushed


def test_a_campaign_gone_meanwhile_ends_the_stream() -> None:
    clock, store, catalog = FakeTime(), FakeStore(visits=1), FakeCatalog()

    async def scenario() -> list[int]:
        metrics = live(store, clock, catalog, max_stream_s=60.0)
        marker, _ = await metrics.first(REQUEST, lambda: NOW)
        catalog.campaigns.clear()
        store.visits = 2
        return [m.totals.visits async for m in metrics.updates(REQUEST, lambda: NOW, marker)]

    assert run(scenario()) == []
    assert clock.now == 1.0  # ended at the first change, not after 60 s


def test_stream_slots_are_bounded_and_released_once() -> None:
    slots = StreamSlots(2)
    first, second = slots.acquire(), slots.acquire()
    with pytest.raises(TooManyStreams) as refused:
        slots.acquire()
    assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "5"}
    first.release()
    first.release()  # twice: no effect
    assert slots.active == 1
    slots.acquire()
    second.release()
    assert slots.active == 1
