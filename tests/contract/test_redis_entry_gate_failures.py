"""The Redis entry gate when the parts around it fail, on the stack's real Redis.

- Redis unreachable, or its counters never warm: the SQL gate decides (same ledger, same rules).
- Redis up but every connection of the worker busy past the pool's wait: 503 `entry_gate_busy`,
  nothing decided (never the SQL gate beside a working Redis).
- The reservation cannot be published: 503 `bus_unavailable` with Retry-After, and the seat the
  script took is given back, so the shopper can try again and nobody is locked out.
- Postgres refuses an admission for a reason other than capacity: the seat is given back;
  a `sold_out` refusal (Redis admitted too many) gives nothing back.
The bus is the embedded SQLite log (its failures are injected); the ledger is SQLite. Keys are
the activity's own (a fresh uuid), deleted afterwards.
"""

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import (
    ENTRIES_DECIDED,
    ENTRIES_REQUESTED,
    BusUnavailableError,
    EntryDecided,
    EntryReason,
    EntryRequested,
    EntryStatus,
    OutgoingMessage,
    decode,
    encode,
)
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from datastore.engine import make_engine
from entries_ledger.after_decision import CountWins
from entry_service.adapters import redis_entry_gate
from entry_service.adapters.decision_waiter import DecisionWaiter
from entry_service.adapters.redis_entry_gate import RedisEntryGate, ScriptAdmission
from entry_service.adapters.redis_gate_scripts import activity_keys, entry_key
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.adapters.sql_activities import SqlActivityDirectory
from entry_service.adapters.sql_entry_gate import SqlEntryGate
from entry_service.domain.entries import ActivityView, EntryAnswer
from entry_service.errors import BusUnavailable, GateBusy
from migrations.runner import upgrade
from servicekit.database import Database
from servicekit.redis_client import PoolExhausted, open_async_redis
from tests.engines import engine_url
from tests.support.entries import Shop, add_activity, confirmed, reservation, seed_shop
from user_summaries.ports import NoSummaryCache

pytestmark = pytest.mark.integration


class FlakyBus:
    """The embedded log (wrapped); reservations cannot be published while `down`."""

    def __init__(self, path: Path) -> None:
        self.inner = SqliteLogPublisher(path)
        self.down = False

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        if self.down:
            raise BusUnavailableError("broker unreachable")
        await self.inner.publish(topic, messages)

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        self.inner.publish_sync(topic, messages)

    def close(self) -> None:
        self.inner.close()


class NeverWarm:
    """A warmer that never rebuilds (as when Redis loses the keys again at once)."""

    calls = 0

    def __init__(self, client: redis.Redis, database: Database) -> None:
        pass

    def warm(self, activity_id: uuid.UUID, *, force: bool = False) -> bool:
        NeverWarm.calls += 1
        return False


@dataclass
class World:
    db: Database
    shop: Shop
    bus: FlakyBus
    bus_path: Path
    sync_redis: redis.Redis
    activities: list[uuid.UUID]

    def activity(self, capacity: int | None = 5, per_user_limit: int = 1) -> ActivityView:
        activity_id = add_activity(
            self.db, self.shop.campaign_id, capacity=capacity, per_user_limit=per_user_limit
        )
        self.activities.append(activity_id)
        # As the entry path reads it (with its site and campaign), not built by hand.
        view = asyncio.run(SqlActivityDirectory(self.db, ttl_s=0).get(activity_id))
        assert view is not None
        return view

    def gate(
        self,
        client: aioredis.Redis,
        *,
        warmer: Any = RedisCounterWarmer,
        confirm_wait_s: float = 0,
    ) -> tuple[RedisEntryGate, DecisionWaiter]:
        waiter = DecisionWaiter(
            lambda group: SqliteLogConsumer(self.bus_path, group, [ENTRIES_DECIDED])
        )
        fallback = SqlEntryGate(
            self.db,
            CountWins(SqlAnalyticsIndex(self.db), NoSummaryCache()),
            lambda: datetime.now(UTC),
        )
        gate = RedisEntryGate(
            client,
            ScriptAdmission(client, warmer(self.sync_redis, self.db)),
            self.bus,
            waiter,
            fallback,
            confirm_wait_s=confirm_wait_s,
            retry_after_s=3,
        )
        return gate, waiter

    def counters(self, activity: ActivityView, user: str) -> tuple[int, int, int]:
        count, users, keys = activity_keys(activity.id)
        return (
            int(self.sync_redis.get(count) or 0),
            int(self.sync_redis.hget(users, user) or 0),
            int(self.sync_redis.hlen(keys)),
        )

    def published(self) -> int:
        return len(SqliteLogConsumer(self.bus_path, "probe", [ENTRIES_REQUESTED]).poll(100, 0.05))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'pulse.sqlite3'}"
    upgrade(url)
    db = Database(make_engine(url))
    bus_path = tmp_path / "bus.sqlite3"
    client = redis.Redis.from_url(engine_url("redis"), socket_timeout=5)
    built = World(db, seed_shop(db), FlakyBus(bus_path), bus_path, client, [])
    try:
        yield built
    finally:
        for activity_id in built.activities:
            client.delete(*activity_keys(activity_id))
        client.close()
        db.dispose()


def _admit(gate: RedisEntryGate, request: object, activity: ActivityView) -> EntryAnswer:
    async def run() -> EntryAnswer:
        try:
            return await gate.admit(request, activity)  # type: ignore[arg-type]
        finally:
            await gate._redis.aclose()  # one loop per call: the pool must not outlive it

    return asyncio.run(run())


def _client() -> aioredis.Redis:
    return open_async_redis(engine_url("redis"))


def test_a_failed_publish_is_503_and_gives_the_seat_back(world: World) -> None:
    activity = world.activity(capacity=1)
    world.bus.down = True
    gate, _ = world.gate(_client())
    request = reservation(world.shop, activity.id, "ada")
    with pytest.raises(BusUnavailable) as refused:
        _admit(gate, request, activity)
    assert refused.value.status_code == 503 and refused.value.code == "bus_unavailable"
    assert refused.value.message == "entries cannot be taken right now; retry shortly"
    assert refused.value.headers == {"Retry-After": "3"}
    assert world.counters(activity, "ada") == (0, 0, 0)
    assert world.published() == 0
    # The seat is free again: the same shopper (capacity 1, limit 1) is admitted on retry.
    world.bus.down = False
    gate, _ = world.gate(_client())
    answer = _admit(gate, reservation(world.shop, activity.id, "ada"), activity)
    assert answer.status is EntryStatus.RESERVED and answer.position == 1
    assert world.counters(activity, "ada") == (1, 1, 1) and world.published() == 1


def test_unreachable_redis_falls_back_to_the_sql_gate(world: World) -> None:
    activity = world.activity(capacity=1)
    with socket.socket() as held:  # bound, never listening: connections are refused
        held.bind(("127.0.0.1", 0))
        gate, _ = world.gate(open_async_redis(f"redis://127.0.0.1:{held.getsockname()[1]}/0"))
        first = _admit(gate, reservation(world.shop, activity.id, "ada"), activity)
        gate, _ = world.gate(open_async_redis(f"redis://127.0.0.1:{held.getsockname()[1]}/0"))
        second = _admit(gate, reservation(world.shop, activity.id, "bob"), activity)
    # Decided in the request by Postgres' rules: confirmed, then sold out; nothing published.
    assert (first.status, first.position) == (EntryStatus.CONFIRMED, 1)
    assert (second.status, second.reason) == (EntryStatus.REJECTED, EntryReason.SOLD_OUT)
    assert confirmed(world.db, activity.id) == [("ada", 1)]
    assert world.published() == 0


def test_a_saturated_pool_sheds_the_entry_and_never_asks_the_sql_gate(world: World) -> None:
    """Redis up, every connection of the worker busy past the pool's wait: a 503 to retry, no
    seat taken anywhere (the SQL gate would confirm seats the counters never count)."""
    activity = world.activity(capacity=1)
    client = open_async_redis(engine_url("redis"), max_connections=1, pool_timeout_s=0.2)
    gate, _ = world.gate(client)
    held = f"pulse-test:held:{uuid.uuid4()}"

    async def run() -> None:
        try:
            # The pool's one connection blocks for a second on a list nobody fills.
            holder = asyncio.create_task(client.blpop([held], timeout=1))
            await asyncio.sleep(0.05)
            await gate.admit(reservation(world.shop, activity.id, "ada"), activity)
        finally:
            await holder
            await client.aclose()

    with pytest.raises(GateBusy) as shed:
        asyncio.run(run())
    assert shed.value.status_code == 503 and shed.value.code == "entry_gate_busy"
    assert shed.value.headers == {"Retry-After": "3"}
    assert isinstance(shed.value.__cause__, PoolExhausted)
    assert confirmed(world.db, activity.id) == []
    assert world.counters(activity, "ada") == (0, 0, 0) and world.published() == 0
    # With a connection free again the same shopper gets the seat.
    gate, _ = world.gate(_client())
    answer = _admit(gate, reservation(world.shop, activity.id, "ada"), activity)
    assert answer.status is EntryStatus.RESERVED and answer.position == 1


def test_counters_that_never_warm_fall_back_to_the_sql_gate(world: World) -> None:
    activity = world.activity()
    NeverWarm.calls = 0
    gate, _ = world.gate(_client(), warmer=NeverWarm)
    answer = _admit(gate, reservation(world.shop, activity.id, "ada"), activity)
    assert NeverWarm.calls == 3  # three cold answers, then Postgres decides
    assert answer.status is EntryStatus.CONFIRMED
    assert confirmed(world.db, activity.id) == [("ada", 1)]
    assert world.published() == 0


def _decide(world: World, request: EntryRequested, reason: EntryReason) -> None:
    decision = EntryDecided(
        entry_id=request.entry_id,
        site_id=request.site_id,
        campaign_id=request.campaign_id,
        activity_id=request.activity_id,
        user_id=request.user_id,
        status=EntryStatus.REJECTED,
        reason=reason,
        decided_at=datetime.now(UTC),
    )
    message = OutgoingMessage(encode(decision, message_id=decision.entry_id, producer="test"))
    world.bus.publish_sync(ENTRIES_DECIDED, [message])


def _reserve_then_refuse(world: World, reason: EntryReason) -> ActivityView:
    """Admit ada and bob through Redis; core_service refuses ada with `reason`, then bob as
    `already_entered`. Bob's seat coming back is the barrier: the waiter hands decisions over
    in order, so by then ada's refusal has been handled too, whatever it did."""
    activity = world.activity(capacity=3)
    gate, waiter = world.gate(_client())
    ada = reservation(world.shop, activity.id, "ada")
    bob = reservation(world.shop, activity.id, "bob")

    async def run() -> None:
        waiter.start()
        try:
            for request in (ada, bob):
                assert (await gate.admit(request, activity)).status is EntryStatus.RESERVED
            assert world.sync_redis.get(entry_key(ada.entry_id)) is not None
            assert world.counters(activity, "ada")[:2] == (2, 1)
            _decide(world, ada, reason)
            _decide(world, bob, EntryReason.ALREADY_ENTERED)
            deadline = time.monotonic() + 10
            while world.counters(activity, "bob")[1] != 0:
                assert time.monotonic() < deadline, "bob's seat was not given back in 10 s"
                await asyncio.sleep(0.02)
        finally:
            waiter.stop()
            await gate._redis.aclose()

    asyncio.run(run())
    return activity


def test_a_refusal_other_than_sold_out_gives_the_seat_back(world: World) -> None:
    activity = _reserve_then_refuse(world, EntryReason.ALREADY_ENTERED)
    assert world.counters(activity, "ada") == (0, 0, 0)


def test_a_sold_out_refusal_keeps_the_counters(world: World) -> None:
    # Redis admitted one too many; Postgres said sold out: the count must stay at what Redis
    # handed out, or the next shopper would be admitted into an activity that is full.
    activity = _reserve_then_refuse(world, EntryReason.SOLD_OUT)
    assert world.counters(activity, "ada") == (1, 1, 1)


def test_the_scripts_answers_become_entry_answers(world: World) -> None:
    activity = world.activity(capacity=1)
    ada = reservation(world.shop, activity.id, "ada", key="k-1")
    again = reservation(world.shop, activity.id, "ada", key="k-2")
    bob = reservation(world.shop, activity.id, "bob")
    replay = reservation(world.shop, activity.id, "ada", key="k-1")

    async def run() -> list[EntryAnswer]:
        gate, _ = world.gate(_client())
        try:
            return [await gate.admit(r, activity) for r in (ada, again, bob, replay)]
        finally:
            await gate._redis.aclose()

    admitted, limited, full, duplicate = asyncio.run(run())
    assert admitted == EntryAnswer(
        ada.entry_id, EntryStatus.RESERVED, position=1, activity_id=activity.id
    )
    assert limited == EntryAnswer(
        again.entry_id, EntryStatus.REJECTED, EntryReason.ALREADY_ENTERED, activity_id=activity.id
    )
    assert full == EntryAnswer(
        bob.entry_id, EntryStatus.REJECTED, EntryReason.SOLD_OUT, activity_id=activity.id
    )
    # The same key again: the first admission's answer, found through its Redis record.
    assert duplicate == admitted
    assert world.counters(activity, "ada") == (1, 1, 1)
    # The two refusals are on the topic too (issue 18: every answer is a record); one reservation.
    published = SqliteLogConsumer(world.bus_path, "probe", [ENTRIES_REQUESTED]).poll(10, 0.05)
    by_id = {decode(m.value, EntryRequested).payload.entry_id: m for m in published}
    assert set(by_id) == {ada.entry_id, again.entry_id, bob.entry_id}
    message = by_id[ada.entry_id]
    envelope = decode(message.value, EntryRequested)
    assert message.key == str(activity.id).encode()
    assert (envelope.message_id, envelope.producer) == (ada.entry_id, "entry_service")
    assert envelope.payload == ada.model_copy(update={"position": 1})


def test_lookup_reads_the_ledger_first_then_the_redis_record(world: World) -> None:
    activity = world.activity()
    request = reservation(world.shop, activity.id, "ada")

    async def run() -> tuple[EntryAnswer | None, ...]:
        gate, _ = world.gate(_client())
        try:
            unknown = await gate.lookup(uuid.uuid4())
            await gate.admit(request, activity)
            reserved = await gate.lookup(request.entry_id)
            ttl = world.sync_redis.ttl(entry_key(request.entry_id))
            assert 24 * 3600 - 60 < ttl <= 24 * 3600  # a hint for a day, not forever
            world.sync_redis.set(entry_key(request.entry_id), f"{activity.id}:not-a-number")
            garbled = await gate.lookup(request.entry_id)
            return unknown, reserved, garbled
        finally:
            await gate._redis.aclose()

    unknown, reserved, garbled = asyncio.run(run())
    assert unknown is None
    assert reserved == EntryAnswer(
        request.entry_id, EntryStatus.RESERVED, position=1, activity_id=activity.id
    )
    # A damaged copy is not believed: the ledger answers, and it has not decided yet.
    assert garbled is None
    world.sync_redis.delete(entry_key(request.entry_id))
    # Once the ledger has decided, its answer is what GET sees.
    decided = SqlEntryGate(
        world.db,
        CountWins(SqlAnalyticsIndex(world.db), NoSummaryCache()),
        lambda: datetime.now(UTC),
    ).decide(request)
    gate, _ = world.gate(_client())
    assert asyncio.run(_lookup(gate, request.entry_id)) == EntryAnswer(
        request.entry_id, decided.status, decided.reason, decided.position, activity_id=activity.id
    )


async def _lookup(gate: RedisEntryGate, entry_id: uuid.UUID) -> EntryAnswer | None:
    try:
        return await gate.lookup(entry_id)
    finally:
        await gate._redis.aclose()


def test_lookup_with_redis_down_knows_only_the_ledger(world: World) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        gate, _ = world.gate(open_async_redis(f"redis://127.0.0.1:{held.getsockname()[1]}/0"))
        assert asyncio.run(_lookup(gate, uuid.uuid4())) is None


class AnsweringBus(FlakyBus):
    """Publishes core_service's decision right after each reservation, as a fast core would."""

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        await super().publish(topic, messages)
        for message in messages:
            request = decode(message.value, EntryRequested).payload
            decided = EntryDecided(
                entry_id=request.entry_id,
                site_id=request.site_id,
                campaign_id=request.campaign_id,
                activity_id=request.activity_id,
                user_id=request.user_id,
                status=EntryStatus.CONFIRMED,
                position=request.position,
                decided_at=datetime.now(UTC),
            )
            reply = encode(decided, message_id=decided.entry_id, producer="test")
            self.publish_sync(ENTRIES_DECIDED, [OutgoingMessage(reply)])


def test_a_decision_within_the_wait_is_the_answer(world: World) -> None:
    activity = world.activity()
    world.bus = AnsweringBus(world.bus_path)
    gate, waiter = world.gate(_client(), confirm_wait_s=10)
    request = reservation(world.shop, activity.id, "ada")

    async def run() -> EntryAnswer:
        waiter.start()
        try:
            return await gate.admit(request, activity)
        finally:
            waiter.stop()
            await gate._redis.aclose()

    answer = asyncio.run(run())
    assert answer == EntryAnswer(
        request.entry_id, EntryStatus.CONFIRMED, position=1, activity_id=activity.id
    )


def test_a_duplicate_without_its_record_is_answered_from_the_script(world: World) -> None:
    # The GET hint expired (or was never written): the script's own memory still answers.
    activity = world.activity()
    first = reservation(world.shop, activity.id, "ada", key="k-1")
    again = reservation(world.shop, activity.id, "ada", key="k-1")

    async def run() -> tuple[EntryAnswer, EntryAnswer]:
        gate, _ = world.gate(_client())
        try:
            admitted = await gate.admit(first, activity)
            world.sync_redis.delete(entry_key(first.entry_id))
            return admitted, await gate.admit(again, activity)
        finally:
            await gate._redis.aclose()

    admitted, duplicate = asyncio.run(run())
    assert duplicate == EntryAnswer(
        first.entry_id, EntryStatus.RESERVED, position=1, activity_id=activity.id
    )
    assert admitted.entry_id == first.entry_id


def test_only_the_most_recent_admissions_are_remembered_for_release(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Memory is bounded: past the cap, the oldest admission is forgotten (its refusal then
    # releases nothing); the newest stays releasable.
    monkeypatch.setattr(redis_entry_gate, "_RECENT", 1)
    activity = _reserve_then_refuse(world, EntryReason.ALREADY_ENTERED)
    assert world.counters(activity, "ada") == (1, 1, 1)
