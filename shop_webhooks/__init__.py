"""Signed webhooks to the shop's backend (Standard Webhooks), fed by a transactional outbox.

To tell the shop about a fact, write the event in the transaction that stores the fact:

    from shop_webhooks import REWARD_ISSUED, enqueue_webhook_event

    enqueue_webhook_event(session.connection(), site_id=site_id, event_type=REWARD_ISSUED,
                          event_id=entry_id, payload={...}, occurred_at=now)

Idempotent by (event_type, event_id). The dispatcher in `pulse worker` fans events out to the
site's subscribed endpoints, signs, retries and logs every attempt (docs/webhooks.md).
"""

from shop_webhooks import delivery_log, endpoints
from shop_webhooks.events import (
    ENTRY_DECIDED,
    EVENT_TYPES,
    HOLD_EXPIRED,
    PAYMENT_CONFIRMED,
    REWARD_ISSUED,
    message_id,
)
from shop_webhooks.outbox import WebhookEventIn, enqueue_webhook_event, enqueue_webhook_events

__all__ = [
    "ENTRY_DECIDED",
    "EVENT_TYPES",
    "HOLD_EXPIRED",
    "PAYMENT_CONFIRMED",
    "REWARD_ISSUED",
    "WebhookEventIn",
    "delivery_log",
    "endpoints",
    "enqueue_webhook_event",
    "enqueue_webhook_events",
    "message_id",
]
