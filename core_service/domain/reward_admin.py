"""Staff's side of rewards: attach a coupon pool or a product to an activity, fill the pool,
read what was issued and what is missing."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from core_service.domain.rewards import check_product, generate_codes, repeated
from core_service.errors import ActivityNotFound
from core_service.reward_errors import (
    CouponDuplicate,
    RewardConflict,
    RewardInvalid,
    RewardNotFound,
)
from entries_ledger.reward_terms import COUPON, PRODUCT, RewardTerms


@dataclass(frozen=True, slots=True)
class ActivityState:
    id: UUID
    capacity: int | None
    confirmed_count: int  # held and paid units, or confirmed winners
    site_id: UUID


@dataclass(frozen=True, slots=True)
class PoolFigures:
    size: int
    issued: int
    winners: int


@dataclass(frozen=True, slots=True)
class RewardReport:
    activity_id: UUID
    terms: RewardTerms
    capacity: int | None
    pool: PoolFigures | None
    holds: dict[str, int] | None

    @property
    def shortfall(self) -> int | None:
        """Codes missing for a full house: capacity minus the pool's size (never below 0)."""
        if self.pool is None or self.capacity is None:
            return None
        return max(0, self.capacity - self.pool.size)


class RewardStore(Protocol):
    def activity(self, activity_id: UUID) -> ActivityState | None: ...
    def reward(self, activity_id: UUID) -> RewardTerms | None: ...
    def save_reward(self, activity_id: UUID, terms: RewardTerms, at: datetime) -> None: ...
    def set_capacity(self, activity_id: UUID, capacity: int, at: datetime) -> None: ...
    def existing_codes(self, activity_id: UUID, codes: list[str]) -> list[str]: ...
    def all_codes(self, activity_id: UUID) -> set[str]: ...
    def add_codes(self, activity_id: UUID, codes: list[str], at: datetime) -> None: ...
    def give_codes_to_waiting_winners(
        self, activity_id: UUID, site_id: UUID, at: datetime
    ) -> int: ...
    def pool(self, activity_id: UUID) -> PoolFigures: ...
    def holds(self, activity_id: UUID) -> dict[str, int]: ...


Clock = Callable[[], datetime]


def set_reward(
    store: RewardStore, activity_id: UUID, terms: RewardTerms, stock: int | None, clock: Clock
) -> RewardReport:
    activity = _activity(store, activity_id)
    now = clock()
    current = store.reward(activity_id)
    if current is not None and current.kind != terms.kind and activity.confirmed_count > 0:
        raise RewardConflict(
            f"activity {activity_id} already has winners of a {current.kind}; its reward kind "
            "cannot change"
        )
    if terms.kind == PRODUCT:
        if terms.price_minor is None or terms.currency is None or stock is None:
            raise RewardInvalid(
                "a product needs price_minor, currency and stock",
                details=[{"field": "stock", "message": "required for a product"}],
            )
        check_product(terms.price_minor, terms.currency, stock)
        if stock < activity.confirmed_count:
            raise RewardConflict(
                f"{activity.confirmed_count} units are already held or paid; the stock cannot "
                f"go below that (asked {stock})"
            )
        store.set_capacity(activity_id, stock, now)  # the stock is the capacity
    elif terms.kind == COUPON:
        terms = RewardTerms(COUPON)
    else:
        raise RewardInvalid(f"unknown reward kind {terms.kind!r}: coupon or product")
    store.save_reward(activity_id, terms, now)
    return report(store, activity_id)


def add_codes(
    store: RewardStore,
    activity_id: UUID,
    codes: list[str] | None,
    generate: tuple[int, str] | None,
    clock: Clock,
) -> tuple[int, int, RewardReport]:
    """Add uploaded (or generated) codes to the pool; (added, given to waiting winners, report).
    Duplicates, in the upload or against the pool, refuse the whole upload."""
    activity = _activity(store, activity_id)
    reward = store.reward(activity_id)
    if reward is None or reward.kind != COUPON:
        raise RewardConflict(
            f"activity {activity_id} has no coupon reward: PUT /v1/activities/{{id}}/reward "
            'with {"kind": "coupon"} first'
        )
    if generate is not None:
        count, pattern = generate
        codes = generate_codes(count, pattern, store.all_codes(activity_id))
    assert codes is not None
    duplicates = repeated(codes) or store.existing_codes(activity_id, codes)
    if duplicates:
        raise CouponDuplicate(duplicates)
    now = clock()
    store.add_codes(activity_id, codes, now)
    given = store.give_codes_to_waiting_winners(activity_id, activity.site_id, now)
    return len(codes), given, report(store, activity_id)


def report(store: RewardStore, activity_id: UUID) -> RewardReport:
    activity = _activity(store, activity_id)
    terms = store.reward(activity_id)
    if terms is None:
        raise RewardNotFound(activity_id)
    coupon = terms.kind == COUPON
    return RewardReport(
        activity_id,
        terms,
        activity.capacity,
        store.pool(activity_id) if coupon else None,
        None if coupon else store.holds(activity_id),
    )


def _activity(store: RewardStore, activity_id: UUID) -> ActivityState:
    activity = store.activity(activity_id)
    if activity is None:
        raise ActivityNotFound(activity_id)
    return activity
