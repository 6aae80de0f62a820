"""What a won entry is given, as the decider sees it (pure: no SQL)."""

from dataclasses import dataclass
from typing import Final

COUPON: Final = "coupon"
PRODUCT: Final = "product"
DEFAULT_HOLD_TTL_S: Final = 600  # ten minutes to pay, unless the activity says otherwise


@dataclass(frozen=True, slots=True)
class RewardTerms:
    kind: str  # COUPON or PRODUCT
    price_minor: int | None = None
    currency: str | None = None
    hold_ttl_s: int | None = None

    @property
    def hold_seconds(self) -> int:
        return self.hold_ttl_s or DEFAULT_HOLD_TTL_S
