"""The dispatcher: outbox events fanned out to endpoints, deliveries claimed, POSTed, logged.

Many `pulse worker` processes may run it at once. A delivery is claimed by a lease
(`lease_owner`, `lease_until`) taken in a short transaction: on Postgres the candidates are
locked with `FOR UPDATE SKIP LOCKED`, so two dispatchers never pick the same row; on SQLite the
database's single writer serialises the conditional update that takes the lease. A dispatcher
that dies mid-POST loses its lease when it runs out, and another one tries again (at least once).

The clock and the retry schedule are parameters: tests run a day of retries in fake time.
"""

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session

from datastore.schema import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from servicekit.database import Database
from servicekit.upsert import dialect_insert
from shop_webhooks.schedule import RetrySchedule
from shop_webhooks.sender import Outcome, Post

log = logging.getLogger(__name__)

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"

_DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]


class Sender(Protocol):
    def send(self, post: Post) -> Outcome: ...


def body(event: WebhookEvent) -> bytes:
    """The JSON every attempt of the event posts (Standard Webhooks' type/timestamp/data)."""
    document: dict[str, Any] = {
        "type": event.event_type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: uuid.UUID
    manual: bool
    post: Post


class Dispatcher:
    def __init__(
        self,
        database: Database,
        sender: Sender,
        *,
        clock: Callable[[], datetime],
        schedule: RetrySchedule | None = None,
        batch_size: int = 50,
        lease: timedelta = timedelta(seconds=60),
        concurrency: int = 8,
        owner: str | None = None,
    ) -> None:
        self._database = database
        self._sender = sender
        self._clock = clock
        self._schedule = schedule or RetrySchedule()
        self._batch = batch_size
        self._lease = lease
        self._concurrency = concurrency
        self.owner = owner or uuid.uuid4().hex

    def run_once(self) -> int:
        """Fan out new events, then attempt every due delivery this dispatcher could claim.
        Returns how many attempts were made."""
        self.fan_out()
        claimed = self.claim()
        if not claimed:
            return 0
        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(claimed))) as pool:
            outcomes = list(pool.map(lambda c: self._sender.send(c.post), claimed))
        for item, outcome in zip(claimed, outcomes, strict=True):
            self.record(item, outcome)
        return len(claimed)

    def fan_out(self) -> int:
        """One delivery per (event, subscribed active endpoint) for a batch of new events, which
        are then marked; returns how many events it took."""
        now = self._clock()
        with self._database.unit_of_work() as s:
            events = list(
                s.scalars(
                    select(WebhookEvent)
                    .where(WebhookEvent.fanned_out_at.is_(None))
                    .order_by(WebhookEvent.created_at)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if not events:
                return 0
            endpoints = _endpoints_by_site(s, {e.site_id for e in events})
            rows = [
                _delivery_row(event.id, endpoint.id, now)
                for event in events
                for endpoint in endpoints.get(event.site_id, [])
                if event.event_type in endpoint.event_types
            ]
            if rows:
                stmt = dialect_insert(s, _DELIVERIES).on_conflict_do_nothing(
                    index_elements=[_DELIVERIES.c.event_id, _DELIVERIES.c.endpoint_id]
                )
                s.execute(stmt, rows)
            for event in events:
                event.fanned_out_at = now
        log.info("webhook_fanned_out events=%d deliveries=%d", len(events), len(rows))
        return len(events)

    def claim(self) -> list[_Claimed]:
        now = self._clock()
        due = and_(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        )
        candidates = (
            select(WebhookDelivery.id)
            .where(due)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        with self._database.unit_of_work() as s:
            # One statement: on SQLite it takes the write lock before it reads, so two
            # dispatchers' claims serialise instead of failing to upgrade a read snapshot.
            ids = list(
                s.scalars(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(candidates), due)
                    .values(lease_owner=self.owner, lease_until=now + self._lease)
                    .returning(WebhookDelivery.id),
                    execution_options={"synchronize_session": False},
                )
            )
            return _posts(s, ids, int(now.timestamp()))

    def record(self, item: _Claimed, outcome: Outcome) -> None:
        """Log the attempt and settle the delivery, if this dispatcher still holds its lease."""
        now = self._clock()
        with self._database.unit_of_work() as s:
            delivery = s.get(WebhookDelivery, item.delivery_id, with_for_update=True)
            if delivery is None or delivery.lease_owner != self.owner:
                log.warning("webhook_lease_lost delivery_id=%s", item.delivery_id)
                return
            s.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                    manual=item.manual,
                )
            )
            delivery.attempt_count += 1
            delivery.lease_owner = None
            delivery.lease_until = None
            delivery.redeliver_requested = False
            delivery.updated_at = now
            if outcome.succeeded:
                delivery.status = SUCCEEDED
            elif self._schedule.gives_up(now - delivery.window_started_at):
                delivery.status = FAILED
            else:
                failures = _failures_in_window(s, delivery.id, delivery.window_started_at)
                delivery.next_attempt_at = now + self._schedule.delay(failures)
            status = delivery.status
        log.info(
            "webhook_attempt delivery_id=%s status_code=%s error=%s duration_ms=%d outcome=%s",
            item.delivery_id,
            outcome.status_code,
            outcome.error,
            outcome.duration_ms,
            status,
        )


def _delivery_row(event_id: uuid.UUID, endpoint_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "event_id": event_id,
        "endpoint_id": endpoint_id,
        "status": PENDING,
        "attempt_count": 0,
        "next_attempt_at": now,
        "window_started_at": now,
        "redeliver_requested": False,
        "created_at": now,
        "updated_at": now,
    }


def _endpoints_by_site(
    s: Session, site_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookEndpoint]]:
    found: dict[uuid.UUID, list[WebhookEndpoint]] = {}
    for endpoint in s.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.site_id.in_(site_ids), WebhookEndpoint.active.is_(True)
        )
    ):
        found.setdefault(endpoint.site_id, []).append(endpoint)
    return found


def _posts(s: Session, ids: Sequence[uuid.UUID], timestamp: int) -> list[_Claimed]:
    if not ids:
        return []
    rows = s.execute(
        select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
    ).all()
    return [
        _Claimed(
            delivery.id,
            delivery.redeliver_requested,
            Post(endpoint.url, endpoint.secret, str(event.id), timestamp, body(event)),
        )
        for delivery, event, endpoint in rows
    ]


def _failures_in_window(s: Session, delivery_id: uuid.UUID, since: datetime) -> int:
    # The attempt just added is flushed with the query (autoflush), so it counts.
    return len(
        s.scalars(
            select(WebhookAttempt.id).where(
                WebhookAttempt.delivery_id == delivery_id,
                WebhookAttempt.attempted_at >= since,
                WebhookAttempt.status_code.is_(None)
                | (WebhookAttempt.status_code < 200)
                | (WebhookAttempt.status_code >= 300),
            )
        ).all()
    )


class DispatcherThread:
    """`Dispatcher.run_once` on a thread every `interval_s` until stopped (for `pulse worker`)."""

    def __init__(self, dispatcher: Dispatcher, interval_s: float, on_stop: Callable[[], None]):
        self._dispatcher = dispatcher
        self._interval = interval_s
        self._on_stop = on_stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulse-webhooks", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self._dispatcher.run_once()
            except Exception:  # a database blip must not end the loop; the next tick retries
                log.exception("webhook_dispatch_failed")
                busy = 0
            if not busy:
                self._stop.wait(self._interval)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    async def check(self) -> None:
        if not self.is_alive():
            raise RuntimeError("webhook dispatcher thread stopped")

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self._on_stop()
