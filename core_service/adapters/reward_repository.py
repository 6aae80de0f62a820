"""Rewards in the database: an activity's reward, its coupon pool, its holds, a site's
payment webhook secret. Never commits (the caller's unit of work does)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core_service.domain.reward_admin import ActivityState, PoolFigures
from datastore.schema import (
    Activity,
    ActivityReward,
    Campaign,
    CouponCode,
    Entry,
    RewardHold,
    Site,
    SitePaymentSettings,
)
from entries_ledger.reward_terms import COUPON, RewardTerms
from entries_ledger.sql_rewards import announce_reward, claim_code


class SqlRewards:
    def __init__(self, session: Session) -> None:
        self._s = session

    def activity(self, activity_id: UUID) -> ActivityState | None:
        """The activity, locked for the rest of the unit of work (one reward change at a time)."""
        row = self._s.execute(
            select(Activity.capacity, Activity.confirmed_count, Campaign.site_id)
            .join(Campaign, Campaign.id == Activity.campaign_id)
            .where(Activity.id == activity_id)
            .with_for_update(of=Activity)
        ).first()
        return None if row is None else ActivityState(activity_id, row[0], row[1], row[2])

    def reward(self, activity_id: UUID) -> RewardTerms | None:
        row = self._s.get(ActivityReward, activity_id)
        if row is None:
            return None
        return RewardTerms(row.kind, row.price_minor, row.currency, row.hold_ttl_s)

    def save_reward(self, activity_id: UUID, terms: RewardTerms, at: datetime) -> None:
        row = self._s.get(ActivityReward, activity_id)
        if row is None:
            row = ActivityReward(activity_id=activity_id, created_at=at)
            self._s.add(row)
        row.kind = terms.kind
        row.price_minor = terms.price_minor
        row.currency = terms.currency
        row.hold_ttl_s = terms.hold_ttl_s
        row.updated_at = at
        self._s.flush()

    def existing_codes(self, activity_id: UUID, codes: list[str]) -> list[str]:
        found: list[str] = []
        for start in range(0, len(codes), 5_000):  # bound the IN list
            chunk = codes[start : start + 5_000]
            found += self._s.scalars(
                select(CouponCode.code).where(
                    CouponCode.activity_id == activity_id, CouponCode.code.in_(chunk)
                )
            )
        return sorted(found)

    def all_codes(self, activity_id: UUID) -> set[str]:
        return set(
            self._s.scalars(select(CouponCode.code).where(CouponCode.activity_id == activity_id))
        )

    def add_codes(self, activity_id: UUID, codes: list[str], at: datetime) -> None:
        rows = [{"activity_id": activity_id, "code": c, "created_at": at} for c in codes]
        for start in range(0, len(rows), 5_000):
            self._s.execute(insert(CouponCode), rows[start : start + 5_000])

    def give_codes_to_waiting_winners(self, activity_id: UUID, site_id: UUID, at: datetime) -> int:
        """Winners confirmed while the pool was empty get a code now, earliest first."""
        has_code = select(CouponCode.entry_id).where(
            CouponCode.activity_id == activity_id, CouponCode.entry_id.is_not(None)
        )
        waiting = self._s.execute(
            select(Entry.id, Entry.user_id)
            .where(
                Entry.activity_id == activity_id,
                Entry.status == "confirmed",
                Entry.id.not_in(has_code),
            )
            .order_by(Entry.decided_at)
        ).all()
        given = 0
        for entry_id, user_id in waiting:
            code = claim_code(self._s, activity_id, entry_id, at)
            if code is None:
                break
            announce_reward(
                self._s, site_id, activity_id, entry_id, user_id, {"kind": COUPON, "code": code}, at
            )
            given += 1
        return given

    def pool(self, activity_id: UUID) -> PoolFigures:
        size, issued = self._s.execute(
            select(func.count(), func.count(CouponCode.entry_id)).where(
                CouponCode.activity_id == activity_id
            )
        ).one()
        winners = self._s.scalar(
            select(func.count())
            .select_from(Entry)
            .where(Entry.activity_id == activity_id, Entry.status == "confirmed")
        )
        return PoolFigures(int(size), int(issued), int(winners or 0))

    def holds(self, activity_id: UUID) -> dict[str, int]:
        rows = self._s.execute(
            select(RewardHold.status, func.count())
            .where(RewardHold.activity_id == activity_id)
            .group_by(RewardHold.status)
        ).all()
        counts = {"held": 0, "paid": 0, "expired": 0, "failed": 0}
        counts.update({status: int(n) for status, n in rows})
        return counts

    def set_capacity(self, activity_id: UUID, capacity: int, at: datetime) -> None:
        self._s.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(capacity=capacity, updated_at=at)
        )

    def set_webhook_secret(self, site_id: UUID, secret: str, at: datetime) -> bool:
        """Store the site's secret; False when there is no such site."""
        if self._s.get(Site, site_id) is None:
            return False
        row = self._s.get(SitePaymentSettings, site_id)
        if row is None:
            self._s.add(SitePaymentSettings(site_id=site_id, webhook_secret=secret, updated_at=at))
        else:
            row.webhook_secret = secret
            row.updated_at = at
        self._s.flush()
        return True
