"""What a payment provider sends: Stripe-shaped events, signed as Stripe signs them."""

import json
import time
import uuid
from typing import Any

from core_service.domain.payment_signature import stripe_signature

WEBHOOK_SECRET = "whsec_test_payment_webhook_0123456789"


def payment_event(
    site_id: uuid.UUID | str,
    entry_id: uuid.UUID | str,
    amount: int,
    currency: str,
    *,
    payment_id: str | None = None,
    event_type: str = "payment_intent.succeeded",
) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "data": {
            "object": {
                "id": payment_id or f"pi_{uuid.uuid4().hex}",
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount if event_type.endswith("succeeded") else 0,
                "currency": currency.lower(),
                "metadata": {"site_id": str(site_id), "entry_id": str(entry_id)},
            }
        },
    }
    return json.dumps(event).encode()


def signed(body: bytes, secret: str = WEBHOOK_SECRET, at: float | None = None) -> dict[str, str]:
    t = int(time.time() if at is None else at)
    return {
        "Stripe-Signature": f"t={t},v1={stripe_signature(secret, t, body)}",
        "Content-Type": "application/json",
    }


def payment_id_of(body: bytes) -> str:
    event: dict[str, Any] = json.loads(body)
    return str(event["data"]["object"]["id"])
