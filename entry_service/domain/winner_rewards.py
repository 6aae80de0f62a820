"""What a winner was given, shown in `GET /v1/entries/{id}` to that winner only.

The caller proves who they are with the same user token they entered with (a JWT the site's
backend signs; `Authorization: Bearer <token>`). Without it, or with someone else's, the
entry is shown without its reward: a code or a hold is never readable by another shopper.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from common_messaging import EntryStatus
from entry_service.domain.entries import ActivityDirectory, EntryAnswer
from entry_service.domain.tokens import InvalidToken, verify_user_token
from entry_service.errors import UserTokenInvalid


@dataclass(frozen=True, slots=True)
class RewardView:
    user_id: str  # the winner; compared with the token's `sub`
    activity_id: UUID
    kind: str  # coupon | product
    code: str | None = None
    price_minor: int | None = None
    currency: str | None = None
    expires_at: datetime | None = None
    payment_status: str | None = None  # held | paid | expired | failed

    def public(self) -> dict[str, object]:
        if self.kind == "coupon":
            if self.code is None:
                return {
                    "kind": "coupon",
                    "status": "unavailable",
                    "detail": "the coupon pool ran out before this win; the shop has been told "
                    "and a code is issued as soon as it adds more",
                }
            return {"kind": "coupon", "status": "issued", "code": self.code}
        return {
            "kind": "product",
            "price_minor": self.price_minor,
            "currency": self.currency,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "payment_status": self.payment_status,
        }


class RewardReader(Protocol):
    async def reward_of(self, entry_id: UUID) -> RewardView | None:
        """The reward of a confirmed entry of an activity with a reward; else None."""
        ...


async def winner_reward(
    answer: EntryAnswer,
    user_token: str | None,
    rewards: RewardReader,
    activities: ActivityDirectory,
    now: datetime,
) -> dict[str, object] | None:
    if user_token is None or answer.status is not EntryStatus.CONFIRMED:
        return None
    reward = await rewards.reward_of(answer.entry_id)
    if reward is None:
        return None
    activity = await activities.get(reward.activity_id)
    if activity is None:
        return None
    try:
        shopper = verify_user_token(user_token, activity.signing_secret, now)
    except InvalidToken as exc:
        raise UserTokenInvalid(str(exc)) from exc
    return reward.public() if shopper.user_id == reward.user_id else None
