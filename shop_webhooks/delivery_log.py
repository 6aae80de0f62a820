"""What staff read about deliveries (every attempt, its status code or error and duration), and
redelivery by hand: one more attempt, with the same `webhook-id`."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from datastore.schema import WebhookAttempt, WebhookDelivery, WebhookEvent
from servicekit.errors import NotFound
from servicekit.keyset import CursorKey, Page, page_of
from shop_webhooks.dispatcher import PENDING
from shop_webhooks.endpoints import get as get_endpoint


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"

    def __init__(self, delivery_id: uuid.UUID) -> None:
        super().__init__(f"no webhook delivery with id {delivery_id}")


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    manual: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    webhook_id: str
    event_type: str
    event_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[Attempt]


def _delivery(row: WebhookDelivery, event: WebhookEvent, attempts: list[Attempt]) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        webhook_id=str(event.id),
        event_type=event.event_type,
        event_id=event.event_id,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
        created_at=row.created_at,
        attempts=attempts,
    )


def _attempts(s: Session, delivery_id: uuid.UUID) -> list[Attempt]:
    rows = s.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    )
    return [Attempt(r.attempted_at, r.status_code, r.error, r.duration_ms, r.manual) for r in rows]


def get(s: Session, delivery_id: uuid.UUID) -> Delivery:
    found = s.execute(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if found is None:
        raise WebhookDeliveryNotFound(delivery_id)
    return _delivery(found[0], found[1], _attempts(s, delivery_id))


def list_for_endpoint(
    s: Session,
    endpoint_id: uuid.UUID,
    status: str | None,
    after: CursorKey | None,
    limit: int,
) -> Page[Delivery]:
    """The endpoint's deliveries, oldest first, each with its attempts."""
    get_endpoint(s, endpoint_id)  # 404 for an unknown endpoint, not an empty list
    stmt = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if after is not None:
        stmt = stmt.where(
            or_(
                WebhookDelivery.created_at > after.created_at,
                and_(WebhookDelivery.created_at == after.created_at, WebhookDelivery.id > after.id),
            )
        )
    rows = s.execute(
        stmt.order_by(WebhookDelivery.created_at, WebhookDelivery.id).limit(limit + 1)
    ).all()
    return page_of([_delivery(d, e, _attempts(s, d.id)) for d, e in rows], limit)


def redeliver(s: Session, delivery_id: uuid.UUID, now: datetime) -> Delivery:
    """Due now, whatever its state; the retry schedule starts again from this attempt."""
    row = s.get(WebhookDelivery, delivery_id, with_for_update=True)
    if row is None:
        raise WebhookDeliveryNotFound(delivery_id)
    row.status = PENDING
    row.next_attempt_at = now
    row.window_started_at = now
    row.redeliver_requested = True
    row.updated_at = now
    s.flush()
    return get(s, delivery_id)
