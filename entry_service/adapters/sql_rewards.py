"""RewardReader over the database: a confirmed entry's code or hold, in one statement."""

import asyncio
from uuid import UUID

from sqlalchemy import select

from datastore.schema import ActivityReward, CouponCode, Entry, RewardHold
from entry_service.domain.winner_rewards import RewardView
from servicekit.database import Database


class SqlRewardReader:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def reward_of(self, entry_id: UUID) -> RewardView | None:
        return await asyncio.to_thread(self._read, entry_id)

    def _read(self, entry_id: UUID) -> RewardView | None:
        with self._database.reader() as session:
            row = session.execute(
                select(
                    Entry.user_id,
                    Entry.activity_id,
                    ActivityReward.kind,
                    CouponCode.code,
                    RewardHold.price_minor,
                    RewardHold.currency,
                    RewardHold.expires_at,
                    RewardHold.status,
                )
                .join(ActivityReward, ActivityReward.activity_id == Entry.activity_id)
                .outerjoin(CouponCode, CouponCode.entry_id == Entry.id)
                .outerjoin(RewardHold, RewardHold.entry_id == Entry.id)
                .where(Entry.id == entry_id, Entry.status == "confirmed")
            ).first()
        return None if row is None else RewardView(*row)
