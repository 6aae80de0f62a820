"""Settling a product hold from the payment provider's signed notification.

The provider (Stripe's event shape) calls `POST /v1/payments/webhook`. The notification names
the site and the winning entry in the payment's metadata (`site_id`, `entry_id`, set by the
shop when it created the payment); the site's webhook secret verifies the signature. Then the
payment is checked against the hold the server created: its price and currency, never
anything a browser said. Outcomes:

- `paid`: the hold was held and unexpired, amount and currency match; it becomes a trusted
  purchase in the same transaction.
- `released`: a failed or cancelled payment releases a held unit back to the activity.
- refusals, recorded (so a retry of the same notification gets the same answer) and answered
  with an error: `amount_mismatch`, `currency_mismatch`, `hold_expired` (too late: refund
  due, the unit may already be someone else's), `already_paid` (another payment won the
  hold), `hold_not_found`.
- `ignored`: event types that settle nothing.

Every outcome is stored once per (payment id, kind): a duplicate notification changes nothing
and gets the stored answer.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

from core_service.domain.payment_signature import verify_stripe_signature
from core_service.reward_errors import (
    HoldAlreadyPaid,
    HoldExpired,
    HoldNotFound,
    PaymentAmountMismatch,
    PaymentCurrencyMismatch,
    PaymentEventInvalid,
    PaymentWebhookNotConfigured,
)
from servicekit.errors import PulseError

SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
_KINDS: Final = {
    "payment_intent.succeeded": SUCCEEDED,
    "charge.succeeded": SUCCEEDED,
    "checkout.session.completed": SUCCEEDED,
    "payment_intent.payment_failed": FAILED,
    "payment_intent.canceled": FAILED,
}


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    event_id: str
    event_type: str
    kind: str | None  # SUCCEEDED, FAILED, or None for types that settle nothing
    payment_id: str
    site_id: UUID
    entry_id: UUID
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class HoldState:
    entry_id: UUID
    site_id: UUID
    activity_id: UUID
    campaign_id: UUID
    user_id: str
    price_minor: int
    currency: str
    status: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    outcome: str
    entry_id: UUID
    payment_id: str
    duplicate: bool = False
    released_activity: UUID | None = None  # a unit went back: tell the gate after the commit
    detail: str | None = None


class PaymentBook(Protocol):
    """The holds and payments tables, inside one unit of work."""

    def webhook_secret(self, site_id: UUID) -> str | None: ...

    def recorded(self, payment_id: str, kind: str) -> Settlement | None: ...

    def lock_hold(self, entry_id: UUID) -> HoldState | None:
        """The hold, locked until the unit of work ends (SELECT ... FOR UPDATE)."""
        ...

    def mark_paid(self, hold: HoldState, notice: PaymentNotice, at: datetime) -> bool:
        """held -> paid, with the trusted purchase and the shop's event; False if not held."""
        ...

    def release(self, hold: HoldState, at: datetime) -> bool:
        """held -> failed, the unit given back to the activity; False if not held."""
        ...

    def record(self, notice: PaymentNotice, outcome: str, at: datetime) -> None: ...


def read_notice(body: bytes) -> PaymentNotice:
    try:
        event = json.loads(body)
        obj = event["data"]["object"]
        metadata: Mapping[str, Any] = obj.get("metadata") or {}
        amount = obj.get("amount_received") or obj.get("amount") or obj.get("amount_total") or 0
        event_type = str(event["type"])
        payment_id = str(obj.get("payment_intent") or obj["id"])
        return PaymentNotice(
            event_id=str(event["id"]),
            event_type=event_type,
            kind=_KINDS.get(event_type),
            payment_id=payment_id[:255],
            site_id=UUID(str(metadata["site_id"])),
            entry_id=UUID(str(metadata["entry_id"])),
            amount_minor=int(amount),
            currency=str(obj.get("currency") or "").upper(),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PaymentEventInvalid(
            "the notification is not a payment event Pulse understands: it needs id, type, "
            "data.object.id, amount, currency and metadata.site_id and metadata.entry_id",
            details={"error": str(exc)[:200]},
        ) from exc


def settle(
    body: bytes,
    signature: str | None,
    book: PaymentBook,
    now: datetime,
    tolerance_s: int,
) -> Settlement:
    """Verify and apply one notification; refusals are returned (and recorded), not raised,
    so the caller commits them before answering with `raise_refusal`."""
    notice = read_notice(body)
    secret = book.webhook_secret(notice.site_id)
    if secret is None:
        raise PaymentWebhookNotConfigured(notice.site_id)
    verify_stripe_signature(signature, body, secret, now.timestamp(), tolerance_s)
    if notice.kind is None:
        return Settlement("ignored", notice.entry_id, notice.payment_id)
    known = book.recorded(notice.payment_id, notice.kind)
    if known is not None:
        return Settlement(
            known.outcome, known.entry_id, known.payment_id, duplicate=True, detail=known.detail
        )
    hold = book.lock_hold(notice.entry_id)
    settlement = _apply(notice, hold, book, now)
    book.record(notice, settlement.outcome, now)
    return settlement


def _apply(
    notice: PaymentNotice, hold: HoldState | None, book: PaymentBook, now: datetime
) -> Settlement:
    def done(outcome: str, released: UUID | None = None) -> Settlement:
        return Settlement(outcome, notice.entry_id, notice.payment_id, released_activity=released)

    if hold is None or hold.site_id != notice.site_id:
        return done("hold_not_found")
    if notice.kind == FAILED:
        return done("released", hold.activity_id) if book.release(hold, now) else done("ignored")
    if notice.currency != hold.currency:
        return done("currency_mismatch")
    if notice.amount_minor != hold.price_minor:
        return done("amount_mismatch")
    if hold.status == "paid":
        return done("already_paid")
    if hold.status != "held" or now >= hold.expires_at or not book.mark_paid(hold, notice, now):
        return done("hold_expired")
    return done("paid")


_REFUSALS: Final[Mapping[str, tuple[type[PulseError], str]]] = {
    "hold_not_found": (HoldNotFound, "no hold of this site for the payment's entry_id"),
    "currency_mismatch": (
        PaymentCurrencyMismatch,
        "the payment's currency is not the product's; the hold stays unpaid (refund due)",
    ),
    "amount_mismatch": (
        PaymentAmountMismatch,
        "the payment's amount is not the product's price; the hold stays unpaid (refund due)",
    ),
    "already_paid": (
        HoldAlreadyPaid,
        "another payment already paid this hold; this one is not applied (refund due)",
    ),
    "hold_expired": (
        HoldExpired,
        "the hold expired before the payment arrived; the unit went back to the activity and "
        "this payment is not applied (refund due)",
    ),
}


def raise_refusal(settlement: Settlement) -> None:
    """Answer a recorded refusal with its error (the same for a duplicate notification)."""
    refusal = _REFUSALS.get(settlement.outcome)
    if refusal is not None:
        error, message = refusal
        raise error(
            message,
            details={
                "entry_id": str(settlement.entry_id),
                "payment_id": settlement.payment_id,
                "duplicate": settlement.duplicate,
            },
        )
