"""Shop webhooks delivered by the dispatcher, on Postgres and on SQLite (the embedded default).

A real HTTP receiver on 127.0.0.1 fails the first attempts of every event (a 500, then no answer
until the client times out) and then recovers: every event must arrive, signed so that the
reference Standard Webhooks library verifies it, with each attempt in the delivery log. The
day-long retry schedule runs on a fake clock.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from datastore.schema import WebhookDelivery
from servicekit.database import Database
from shop_webhooks import (
    ENTRY_DECIDED,
    HOLD_EXPIRED,
    REWARD_ISSUED,
    delivery_log,
    endpoints,
    enqueue_webhook_event,
)
from shop_webhooks.dispatcher import Dispatcher
from shop_webhooks.endpoints import TargetPolicy
from shop_webhooks.schedule import RetrySchedule
from shop_webhooks.sender import HttpSender, Outcome, Post
from tests.support.entries import Shop, seed_shop
from tests.support.webhook_receiver import Receiver, webhook_receiver

PRIVATE_OK = TargetPolicy(allow_private=True)
QUICK = RetrySchedule(first=timedelta(milliseconds=20), cap=timedelta(milliseconds=80))


@pytest.fixture
def shop(database: Database) -> Shop:
    return seed_shop(database)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(["500", "timeout", "200"], hang_s=3.0) as r:
        yield r


def _endpoint(
    database: Database, shop: Shop, url: str, types: list[str]
) -> endpoints.EndpointWithSecret:
    with database.unit_of_work() as s:
        return endpoints.create(
            s,
            PRIVATE_OK,
            datetime.now(UTC),
            site_id=shop.site_id,
            url=url,
            event_types=types,
            description=None,
        )


def _enqueue(database: Database, shop: Shop, event_type: str, n: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    with database.unit_of_work() as s:
        for event_id in ids:
            enqueue_webhook_event(
                s.connection(),
                site_id=shop.site_id,
                event_type=event_type,
                event_id=event_id,
                payload={"entry_id": event_id, "status": "confirmed"},
                occurred_at=datetime.now(UTC),
            )
    return ids


def _deliveries(database: Database) -> list[delivery_log.Delivery]:
    with database.reader() as s:
        ids = list(s.scalars(select(WebhookDelivery.id)))
        return [delivery_log.get(s, i) for i in ids]


def _run_until_settled(dispatcher: Dispatcher, database: Database, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        dispatcher.run_once()
        if all(d.status != "pending" for d in _deliveries(database)):
            return
        time.sleep(0.02)
    raise AssertionError(f"deliveries still pending after {deadline_s}s")


def test_every_event_arrives_signed_after_failures_and_the_log_shows_each_attempt(
    database: Database, shop: Shop, receiver: Receiver
) -> None:
    hook = _endpoint(database, shop, receiver.url, [ENTRY_DECIDED, REWARD_ISSUED])
    decided = _enqueue(database, shop, ENTRY_DECIDED, 3)
    rewarded = _enqueue(database, shop, REWARD_ISSUED, 2)
    _enqueue(database, shop, HOLD_EXPIRED, 1)  # not subscribed: never sent
    # A timeout of a second: loaded CI machines answer a 500 slowly, never this slowly.
    sender = HttpSender(timeout_s=1.0, allow_private=True)
    dispatcher = Dispatcher(database, sender, clock=lambda: datetime.now(UTC), schedule=QUICK)
    try:
        _run_until_settled(dispatcher, database, deadline_s=30)
    finally:
        sender.close()

    deliveries = _deliveries(database)
    assert sorted(d.event_id for d in deliveries) == sorted(decided + rewarded)
    verifier = Webhook(hook.secret)  # the reference implementation, not ours
    for delivery in deliveries:
        assert delivery.status == "succeeded"
        got = receiver.by_id(delivery.webhook_id)
        assert [r.answered for r in got] == ["500", "timeout", "200"]
        for request in got:
            document = verifier.verify(request.body, request.headers)
            assert document["type"] == delivery.event_type
            assert document["data"] == {"entry_id": delivery.event_id, "status": "confirmed"}
        attempts = delivery.attempts
        assert [a.status_code for a in attempts] == [500, None, 200]
        assert attempts[1].error is not None and attempts[1].error.startswith("timeout")
        assert attempts[1].duration_ms >= 950  # it waited for the timeout, no longer than that
        assert attempts[1].duration_ms < 3000
        assert attempts[0].attempted_at < attempts[1].attempted_at < attempts[2].attempted_at
        assert delivery.attempt_count == 3 and not any(a.manual for a in attempts)
    forged = receiver.requests[0]
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(hook.secret).verify(forged.body + b" ", forged.headers)
    # The snippet docs/webhooks.md gives shops agrees, on every request and on a forgery.
    verify = _documented_verifier()
    assert all(verify(hook.secret, r.headers, r.body) for r in receiver.requests)
    assert not verify(hook.secret, forged.headers, forged.body + b" ")
    assert not verify(
        _endpoint(database, shop, receiver.url, [ENTRY_DECIDED]).secret, forged.headers, forged.body
    )


def _documented_verifier() -> Callable[[str, dict[str, str], bytes], bool]:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    code = doc.split("<!-- verify:start -->")[1].split("<!-- verify:end -->")[0]
    namespace: dict[str, Any] = {}
    exec(code.strip().removeprefix("```python").removesuffix("```"), namespace)
    verify: Callable[[str, dict[str, str], bytes], bool] = namespace["verify_pulse_webhook"]
    return verify


def test_redelivery_by_hand_is_a_new_attempt_with_the_same_webhook_id(
    database: Database, shop: Shop
) -> None:
    with webhook_receiver(["200"]) as receiver:
        _endpoint(database, shop, receiver.url, [ENTRY_DECIDED])
        _enqueue(database, shop, ENTRY_DECIDED, 1)
        sender = HttpSender(timeout_s=2, allow_private=True)
        dispatcher = Dispatcher(database, sender, clock=lambda: datetime.now(UTC))
        try:
            assert dispatcher.run_once() == 1
            [delivery] = _deliveries(database)
            with database.unit_of_work() as s:
                again = delivery_log.redeliver(s, delivery.id, datetime.now(UTC))
            assert again.status == "pending"
            assert dispatcher.run_once() == 1
            assert dispatcher.run_once() == 0  # nothing more is due
        finally:
            sender.close()
        got = receiver.by_id(delivery.webhook_id)
    assert len(got) == 2
    assert got[0].body == got[1].body
    [after] = _deliveries(database)
    assert after.status == "succeeded"
    assert [(a.status_code, a.manual) for a in after.attempts] == [(200, False), (200, True)]


class _AlwaysDown:
    def __init__(self) -> None:
        self.posts: list[Post] = []

    def send(self, post: Post) -> Outcome:
        self.posts.append(post)
        return Outcome(503, None, 1)


def test_retries_back_off_exponentially_for_a_day_then_the_delivery_fails(
    database: Database, shop: Shop
) -> None:
    _endpoint(database, shop, "https://shop.example/hooks", [ENTRY_DECIDED])
    _enqueue(database, shop, ENTRY_DECIDED, 1)
    now = [datetime(2026, 12, 2, tzinfo=UTC)]
    down = _AlwaysDown()
    schedule = RetrySchedule(jitter=lambda: 1.0)  # the top of the jitter range: exact doubling
    dispatcher = Dispatcher(database, down, clock=lambda: now[0], schedule=schedule)
    times: list[datetime] = []
    for _ in range(100):
        if dispatcher.run_once() == 0:
            [pending] = _deliveries(database)
            if pending.status != "pending":
                break
            assert pending.next_attempt_at is not None and pending.next_attempt_at > now[0]
            now[0] = pending.next_attempt_at
            continue
        times.append(now[0])
    [delivery] = _deliveries(database)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:6] == [5, 10, 20, 40, 80, 160]
    assert max(gaps) == 7200 and gaps == sorted(gaps)
    assert times[-1] - times[0] >= timedelta(hours=24)
    assert times[-2] - times[0] < timedelta(hours=24)  # it gave up at the first chance after
    assert len(delivery.attempts) == len(times) == len(down.posts)
    assert {p.message_id for p in down.posts} == {delivery.webhook_id}


def test_jitter_spreads_retries_within_half_the_delay() -> None:
    low = RetrySchedule(jitter=lambda: 0.0)
    high = RetrySchedule(jitter=lambda: 1.0)
    assert low.delay(3) == timedelta(seconds=10) and high.delay(3) == timedelta(seconds=20)
    assert high.delay(40) == timedelta(hours=2)


def test_two_dispatchers_never_claim_the_same_delivery(database: Database, shop: Shop) -> None:
    _endpoint(database, shop, "https://shop.example/a", [ENTRY_DECIDED])
    _endpoint(database, shop, "https://shop.example/b", [ENTRY_DECIDED])
    _enqueue(database, shop, ENTRY_DECIDED, 30)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    dispatchers = [
        Dispatcher(database, _AlwaysDown(), clock=clock, batch_size=20, owner=f"w{i}")
        for i in range(3)
    ]
    while dispatchers[0].fan_out():
        pass
    claimed: dict[str, set[uuid.UUID]] = {}
    start = threading.Barrier(3)

    def claim(d: Dispatcher) -> None:
        start.wait()
        found: set[uuid.UUID] = set()
        for _ in range(5):
            found |= {c.delivery_id for c in d.claim()}
        claimed[d.owner] = found

    threads = [threading.Thread(target=claim, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    sets = list(claimed.values())
    everything = set().union(*sets)
    assert len(everything) == 60 == sum(len(s) for s in sets)  # all claimed, none twice
    # A lease that ran out is claimed again (the dispatcher holding it died mid-POST).
    later = Dispatcher(
        database, _AlwaysDown(), clock=lambda: clock() + timedelta(minutes=2), batch_size=100
    )
    assert {c.delivery_id for c in later.claim()} == everything


def test_a_target_that_turned_private_is_not_posted_to(database: Database, shop: Shop) -> None:
    with webhook_receiver(["200"]) as receiver:
        _endpoint(database, shop, receiver.url, [ENTRY_DECIDED])
        _enqueue(database, shop, ENTRY_DECIDED, 1)
        strict = HttpSender(timeout_s=1, allow_private=False)
        try:
            Dispatcher(database, strict, clock=lambda: datetime.now(UTC)).run_once()
        finally:
            strict.close()
        assert receiver.requests == []
    [delivery] = _deliveries(database)
    assert delivery.status == "pending"
    [attempt] = delivery.attempts
    assert attempt.status_code is None and attempt.error is not None
    assert "https is required" in attempt.error


def test_the_body_is_the_events_type_time_and_payload(database: Database, shop: Shop) -> None:
    with webhook_receiver(["204"]) as receiver:
        _endpoint(database, shop, receiver.url, [REWARD_ISSUED])
        [event_id] = _enqueue(database, shop, REWARD_ISSUED, 1)
        sender = HttpSender(timeout_s=2, allow_private=True)
        try:
            Dispatcher(database, sender, clock=lambda: datetime.now(UTC)).run_once()
        finally:
            sender.close()
        [request] = receiver.requests
    document = json.loads(request.body)
    assert set(document) == {"type", "timestamp", "data"}
    assert document["type"] == "reward.issued" and document["timestamp"].endswith("Z")
    assert document["data"]["entry_id"] == event_id
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    [delivery] = _deliveries(database)
    assert delivery.status == "succeeded"  # any 2xx
