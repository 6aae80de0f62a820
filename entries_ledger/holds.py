"""Product holds after the win: expiry, release of the unit, payment settlement.

The activity's `confirmed_count` (the capacity guard) counts held and paid units. A hold is
settled once, by one conditional UPDATE on `status = 'held'`: paid (by a verified payment
before `expires_at`), or released (expired by the sweeper, or failed). A release lowers the
guard in the same transaction, so Postgres can confirm the unit to the next shopper; then the
Redis gate's count is lowered too (`RedisSeatReturn`), after the commit. Held plus paid never
exceeds stock: a paid hold is never released, and a released hold can no longer be paid.

The sweeper (`HoldSweeper`) may run in every worker: `FOR UPDATE SKIP LOCKED` hands each due
hold to one transaction, and only the transaction whose UPDATE changed the row releases it.
"""

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datastore.schema import Activity, RewardHold
from entries_ledger.shop_events import HOLD_EXPIRED, record_shop_event
from servicekit.database import Database

log = logging.getLogger(__name__)

SWEEP_BATCH: Final = 500

SeatReturn = Callable[[Mapping[UUID, int]], None]


@dataclass(frozen=True, slots=True)
class SettledHold:
    entry_id: UUID
    site_id: UUID
    activity_id: UUID
    user_id: str
    price_minor: int
    currency: str


def expire_due(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> dict[UUID, int]:
    """Expire up to `limit` unpaid holds past their time; the units released per activity."""
    due = list(
        session.scalars(
            select(RewardHold.entry_id)
            .where(RewardHold.status == "held", RewardHold.expires_at <= now)
            .order_by(RewardHold.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return {}
    rows = session.execute(
        update(RewardHold)
        .where(RewardHold.entry_id.in_(due), RewardHold.status == "held")
        .values(status="expired", settled_at=now)
        .returning(
            RewardHold.entry_id,
            RewardHold.site_id,
            RewardHold.activity_id,
            RewardHold.user_id,
            RewardHold.price_minor,
            RewardHold.currency,
        )
    ).all()
    expired = [SettledHold(*row) for row in rows]
    for hold in expired:
        record_shop_event(
            session,
            site_id=hold.site_id,
            event_type=HOLD_EXPIRED,
            event_id=str(hold.entry_id),
            payload={
                "entry_id": str(hold.entry_id),
                "activity_id": str(hold.activity_id),
                "user_id": hold.user_id,
                "price_minor": hold.price_minor,
                "currency": hold.currency,
            },
            occurred_at=now,
        )
    released = dict(Counter(hold.activity_id for hold in expired))
    release_units(session, released)
    return released


def release_units(session: Session, released: Mapping[UUID, int]) -> None:
    """Lower each activity's capacity guard by the units its settled holds gave back."""
    for activity_id, units in released.items():
        session.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(confirmed_count=Activity.confirmed_count - units)
        )


class HoldSweeper:
    """Expires due holds every `interval_s`, batch by batch, and gives the units back to the
    gate. Run on a thread of `pulse worker` (or of the embedded admin API)."""

    def __init__(
        self,
        database: Database,
        give_back: SeatReturn | None,
        clock: Callable[[], datetime],
        *,
        interval_s: float = 2.0,
    ) -> None:
        self._database = database
        self._give_back = give_back
        self._clock = clock
        self._interval_s = interval_s

    def sweep(self) -> int:
        """One pass until no due hold is left; the number of holds expired."""
        total = 0
        while True:
            with self._database.unit_of_work() as session:
                released = expire_due(session, self._clock())
            if not released:
                return total
            units = sum(released.values())
            total += units
            log.info("holds_expired units=%d activities=%d", units, len(released))
            if self._give_back is not None:
                self._give_back(released)
            if units < SWEEP_BATCH:
                return total

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval_s):
            try:
                self.sweep()
            except Exception as exc:  # the next pass retries; a hold stays due until expired
                log.warning("hold_sweep_failed error=%s", exc)
