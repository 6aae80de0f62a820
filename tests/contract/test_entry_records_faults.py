"""The Redis gate's records when a part fails, on real Redis and a real ledger (SQLite and
Postgres): no entry id is answered without a durable record of it."""

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import (
    ENTRIES_REQUESTED,
    DeviceInfo,
    DeviceType,
    EntryReason,
    EntryRequested,
    EntryStatus,
    EventPublisher,
    decode,
)
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.writers import EntryBatchDecider
from entries_ledger.after_decision import CountWins
from entry_service.adapters.decision_waiter import DecisionWaiter
from entry_service.adapters.redis_entry_gate import RedisEntryGate, ScriptAdmission
from entry_service.adapters.redis_gate_scripts import activity_keys, entry_key
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.adapters.sql_activities import SqlActivityDirectory
from entry_service.adapters.sql_entry_gate import SqlEntryGate
from entry_service.domain.entries import ActivityView
from entry_service.errors import BusUnavailable
from servicekit.database import Database
from tests.engines import engine_url
from tests.support.bus_down import BusDown
from tests.support.entries import Shop, add_activity, seed_shop
from user_summaries.ports import NoSummaryCache

pytestmark = pytest.mark.integration


@dataclass
class Setting:
    db: Database
    shop: Shop
    log: Path
    redis: redis.Redis


@pytest.fixture
def setting(database: Database, tmp_path: Path) -> Iterator[Setting]:
    client = redis.Redis.from_url(engine_url("redis"))
    yield Setting(database, seed_shop(database), tmp_path / "bus.sqlite3", client)
    client.close()


def _gate(s: Setting, async_redis: aioredis.Redis, publisher: EventPublisher) -> RedisEntryGate:
    sql = SqlEntryGate(
        s.db, CountWins(SqlAnalyticsIndex(s.db), NoSummaryCache()), lambda: datetime.now(UTC)
    )
    waiter = DecisionWaiter(lambda group: SqliteLogConsumer(s.log, group, []))
    return RedisEntryGate(
        async_redis,
        ScriptAdmission(async_redis, RedisCounterWarmer(s.redis, s.db)),
        publisher,
        waiter,
        sql,
        confirm_wait_s=0,
        retry_after_s=1,
        lookup_grace_s=0.4,
    )


def _request(s: Setting, activity: ActivityView, user: str, key: str) -> EntryRequested:
    return EntryRequested(
        entry_id=uuid.uuid4(),
        site_id=s.shop.site_id,
        campaign_id=s.shop.campaign_id,
        activity_id=activity.id,
        user_id=user,
        idempotency_key=key,
        requested_at=datetime.now(UTC),
        device=DeviceInfo(device_type=DeviceType.MOBILE),
    )


async def _activity(s: Setting, capacity: int) -> ActivityView:
    activity_id = add_activity(s.db, s.shop.campaign_id, capacity=capacity)
    view = await SqlActivityDirectory(s.db, 0).get(activity_id)
    assert view is not None
    return view


def test_with_the_bus_down_refusals_go_straight_to_the_ledger(setting: Setting) -> None:
    async def scenario() -> None:
        async_redis = aioredis.Redis.from_url(engine_url("redis"))
        gate = _gate(setting, async_redis, BusDown())
        activity = await _activity(setting, capacity=1)
        try:
            refused = _request(setting, activity, "nia", "k1").model_copy(
                update={"refused": EntryReason.NOT_ELIGIBLE, "detail": "purchase_count"}
            )
            answer = await gate.refuse(refused)
            assert (answer.status, answer.reason) == (
                EntryStatus.REJECTED,
                EntryReason.NOT_ELIGIBLE,
            )
            # In the ledger before the answer, so Redis's copy is not needed to find it.
            await async_redis.delete(entry_key(refused.entry_id))
            state = await gate.lookup(refused.entry_id)
            assert state is not None
            assert (state.status, state.reason, state.detail) == (
                EntryStatus.REJECTED,
                EntryReason.NOT_ELIGIBLE,
                "purchase_count",
            )
            # A reservation cannot be made durable: no entry id, and the seat is given back.
            with pytest.raises(BusUnavailable):
                await gate.admit(_request(setting, activity, "oli", "k2"), activity)
            assert int(await async_redis.get(activity_keys(activity.id)[0]) or 0) == 0
        finally:
            await async_redis.delete(*activity_keys(activity.id))
            await async_redis.aclose()

    asyncio.run(scenario())


def test_an_admission_no_record_shows_is_published_again_before_it_is_answered(
    setting: Setting,
) -> None:
    async def scenario() -> None:
        async_redis = aioredis.Redis.from_url(engine_url("redis"))
        publisher = SqliteLogPublisher(setting.log)
        gate = _gate(setting, async_redis, publisher)
        activity = await _activity(setting, capacity=5)
        try:
            request = _request(setting, activity, "pia", "same-key")
            first = await gate.admit(request, activity)
            assert first.status is EntryStatus.RESERVED
            # Redis still holds the admission under the key, but no copy and no ledger row.
            await async_redis.delete(entry_key(first.entry_id))
            retry = _request(setting, activity, "pia", "same-key")
            again = await gate.admit(retry, activity)
            assert (again.entry_id, again.status) == (first.entry_id, EntryStatus.RESERVED)
            published = [
                decode(m.value, EntryRequested).payload
                for m in SqliteLogConsumer(setting.log, "core", [ENTRIES_REQUESTED]).poll(10, 0.05)
            ]
            assert [p.entry_id for p in published] == [first.entry_id, first.entry_id]
            EntryBatchDecider(setting.db, SqlAnalyticsIndex(setting.db), publisher)(published)
            decided = await gate.lookup(first.entry_id)
            assert decided is not None and decided.status is EntryStatus.CONFIRMED
            # An id nobody was given is still a 404 after the short grace.
            assert await gate.lookup(uuid.uuid4()) is None
        finally:
            await async_redis.delete(*activity_keys(activity.id))
            await async_redis.aclose()
            publisher.close()

    asyncio.run(scenario())
