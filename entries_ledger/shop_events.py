"""The one place where facts about rewards become events for the shop's webhooks.

Each call is made inside the unit of work that makes the fact durable (a code issued or a hold
created, a hold expired, a payment confirmed), and writes the event into the shop webhooks'
outbox on the same connection, so the event exists exactly when the fact does. The dispatcher
(`shop_webhooks`, run by `pulse worker`) signs and delivers it to the site's endpoints.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from shop_webhooks import HOLD_EXPIRED, PAYMENT_CONFIRMED, REWARD_ISSUED, enqueue_webhook_event

__all__ = ["HOLD_EXPIRED", "PAYMENT_CONFIRMED", "REWARD_ISSUED", "record_shop_event"]


def record_shop_event(
    session: Session,
    *,
    site_id: UUID,
    event_type: str,
    event_id: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
) -> None:
    """Queue one event for the site's shop webhooks, in the caller's transaction (once per
    (event_type, event_id): a retried unit of work queues nothing twice)."""
    enqueue_webhook_event(
        session.connection(),
        site_id=site_id,
        event_type=event_type,
        event_id=event_id,
        payload=payload,
        occurred_at=occurred_at,
    )
