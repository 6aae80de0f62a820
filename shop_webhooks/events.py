"""The event types a shop can subscribe to, and the id every delivery of an event carries."""

import uuid

ENTRY_DECIDED = "entry.decided"
REWARD_ISSUED = "reward.issued"
HOLD_EXPIRED = "hold.expired"
PAYMENT_CONFIRMED = "payment.confirmed"

EVENT_TYPES: tuple[str, ...] = (ENTRY_DECIDED, REWARD_ISSUED, HOLD_EXPIRED, PAYMENT_CONFIRMED)

# Fixed, so the same fact always maps to the same message id, in every process and release.
_MESSAGE_NAMESPACE = uuid.UUID("6f1c2b1e-3d0a-4f8e-9a57-5b0d3c1e7a21")


def message_id(event_type: str, event_id: str) -> uuid.UUID:
    """The outbox row's id and the deliveries' `webhook-id`: one per (event type, event id)."""
    return uuid.uuid5(_MESSAGE_NAMESPACE, f"{event_type}\x00{event_id}")
