"""The payment provider's webhook signature: Stripe's documented scheme.

`Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each `v1` is
HMAC-SHA256(secret, "<t>.<raw body>") in hex; other schemes (`v0`) are ignored. A timestamp
further than the tolerance (300 s by default) from our clock is refused, so a captured
notification cannot be replayed later; within the window a replay is harmless (payments are
idempotent by payment id). Digests are compared in constant time.
"""

import hashlib
import hmac

from core_service.reward_errors import PaymentSignatureExpired, PaymentSignatureInvalid

DEFAULT_TOLERANCE_S = 300


def stripe_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `v1` digest of a body signed at `timestamp` (what the provider sends)."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_stripe_signature(
    header: str | None,
    body: bytes,
    secret: str,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """The signed timestamp, when the header carries a valid `v1` signature of the body."""
    if not header:
        raise PaymentSignatureInvalid("the Stripe-Signature header is missing")
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            digests.append(value)
    if timestamp is None or not digests:
        raise PaymentSignatureInvalid(
            "the Stripe-Signature header must carry t=<timestamp> and v1=<signature>"
        )
    expected = stripe_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, digest) for digest in digests):
        raise PaymentSignatureInvalid("no v1 signature of the header matches the body")
    if abs(now - timestamp) > tolerance_s:
        raise PaymentSignatureExpired(
            f"the signature's timestamp is {int(now - timestamp)} s from ours; more than "
            f"{tolerance_s} s apart is refused as a replay",
            details={"tolerance_s": tolerance_s},
        )
    return timestamp
