"""Writing a webhook event into the outbox, in the caller's transaction.

The fact and the event that reports it commit together or not at all; the dispatcher
(`pulse worker`) sends it later. Enqueueing the same (event_type, event_id) again does nothing,
so replayed decisions or retried units of work never send a fact twice.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from datastore.schema import WebhookEvent
from shop_webhooks.events import EVENT_TYPES, message_id

_EVENTS: Table = WebhookEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class WebhookEventIn:
    """One event for `enqueue_webhook_events` (the same fields as `enqueue_webhook_event`)."""

    site_id: UUID
    event_type: str
    event_id: str | UUID
    payload: Mapping[str, Any]
    occurred_at: datetime


def enqueue_webhook_event(
    conn: Connection,
    *,
    site_id: UUID,
    event_type: str,
    event_id: str | UUID,
    payload: Mapping[str, Any],
    occurred_at: datetime,
) -> None:
    """Add an event for the site's subscribed endpoints; a no-op if it is already there.

    Call it with the connection of the transaction that stores the fact, e.g. from an ORM
    session: `enqueue_webhook_event(session.connection(), site_id=..., event_type=
    REWARD_ISSUED, event_id=entry_id, payload={...}, occurred_at=now)`. `event_id` names the
    fact (an entry id, a hold id, a payment id): one event per (event_type, event_id).
    `payload` must be JSON-able (UUIDs, datetimes and Decimals are turned into strings).
    """
    enqueue_webhook_events(
        conn, [WebhookEventIn(site_id, event_type, event_id, payload, occurred_at)]
    )


def enqueue_webhook_events(conn: Connection, events: Sequence[WebhookEventIn]) -> None:
    """Many events in one statement (e.g. a batch of decisions); each as above."""
    if not events:
        return
    now = datetime.now(UTC)
    rows = [_row(event, now) for event in events]
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(_EVENTS).on_conflict_do_nothing(index_elements=[_EVENTS.c.id])
    conn.execute(stmt, rows)


def _row(event: WebhookEventIn, now: datetime) -> dict[str, Any]:
    if event.event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event.event_type!r}")
    if event.occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    return {
        "id": message_id(event.event_type, str(event.event_id)),
        "site_id": event.site_id,
        "event_type": event.event_type,
        "event_id": str(event.event_id),
        "payload": to_jsonable_python(dict(event.payload)),
        "occurred_at": event.occurred_at,
        "created_at": now,
    }
