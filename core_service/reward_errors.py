"""core_service's errors about rewards and payments (codes listed in docs/errors.md).

servicekit.errors.PulseError
├── InvalidInput (422)
│   ├── CouponUploadInvalid (coupon_upload_invalid)
│   ├── RewardInvalid (reward_invalid)
│   ├── PaymentEventInvalid (payment_event_invalid)
│   ├── PaymentAmountMismatch (payment_amount_mismatch)
│   └── PaymentCurrencyMismatch (payment_currency_mismatch)
├── Unauthorized (401)
│   ├── PaymentSignatureInvalid (payment_signature_invalid)
│   └── PaymentSignatureExpired (payment_signature_expired)
├── NotFound (404)
│   ├── RewardNotFound (reward_not_found)
│   └── HoldNotFound (hold_not_found)
└── Conflict (409)
    ├── CouponDuplicate (coupon_duplicate)
    ├── RewardConflict (reward_conflict)
    ├── HoldExpired (hold_expired)
    ├── HoldAlreadyPaid (hold_already_paid)
    └── PaymentWebhookNotConfigured (payment_webhook_not_configured)
"""

from typing import Any
from uuid import UUID

from servicekit.errors import Conflict, InvalidInput, NotFound, Unauthorized


class CouponUploadInvalid(InvalidInput):
    code = "coupon_upload_invalid"


class RewardInvalid(InvalidInput):
    code = "reward_invalid"


class PaymentEventInvalid(InvalidInput):
    code = "payment_event_invalid"


class PaymentAmountMismatch(InvalidInput):
    code = "payment_amount_mismatch"


class PaymentCurrencyMismatch(InvalidInput):
    code = "payment_currency_mismatch"


class PaymentSignatureInvalid(Unauthorized):
    code = "payment_signature_invalid"


class PaymentSignatureExpired(Unauthorized):
    code = "payment_signature_expired"


class RewardNotFound(NotFound):
    code = "reward_not_found"

    def __init__(self, activity_id: UUID) -> None:
        super().__init__(
            f"activity {activity_id} has no reward: set one with PUT /v1/activities/{{id}}/reward"
        )


class HoldNotFound(NotFound):
    code = "hold_not_found"


class CouponDuplicate(Conflict):
    code = "coupon_duplicate"

    def __init__(self, codes: list[str]) -> None:
        shown = codes[:20]
        super().__init__(
            f"{len(codes)} code(s) are duplicates (in the upload or already in the pool); "
            "nothing was added",
            details={"duplicates": shown, "count": len(codes)},
        )


class RewardConflict(Conflict):
    code = "reward_conflict"


class HoldExpired(Conflict):
    code = "hold_expired"


class HoldAlreadyPaid(Conflict):
    code = "hold_already_paid"


class PaymentWebhookNotConfigured(Conflict):
    code = "payment_webhook_not_configured"

    def __init__(self, site_id: Any) -> None:
        super().__init__(
            f"site {site_id} has no payment webhook secret: set it with "
            "PUT /v1/sites/{id}/payment-webhook"
        )
