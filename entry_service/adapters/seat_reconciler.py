"""Give back the seats Redis holds for admissions that no record shows, once across instances.

An entry_service process that dies between the Redis admission and the durable publish leaves
the activity's counter one too high (and the user's slot and the Idempotency-Key's answer taken)
with nothing on the bus or in Postgres to ever resolve it. A pass, run by one instance per
interval, compares each open activity's counter with Postgres's confirmed count: a counter above
Postgres that has not moved for a whole interval holds no reservation in flight (they are
decided within seconds), so the counters are rebuilt from Postgres. A reservation held back
longer (every worker down) may then be over-admitted; Postgres refuses the excess `sold_out`.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import redis
from sqlalchemy import or_, select

from datastore.schema import Activity
from entry_service.adapters.redis_gate_scripts import activity_keys
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from servicekit.database import Database

log = logging.getLogger(__name__)

PASS_LOCK = "pulse:entries:reconcile:pass"
SEEN = "pulse:entries:reconcile:seen"  # activity id -> the counter the previous pass saw


class SeatReconciler:
    def __init__(
        self,
        client: redis.Redis,
        database: Database,
        warmer: RedisCounterWarmer,
        interval_s: float,
    ) -> None:
        self._redis = client
        self._database = database
        self._warmer = warmer
        self._interval_s = interval_s

    def run_once(self) -> list[UUID]:
        """One pass, unless another instance ran one within the interval; the activities whose
        counters were rebuilt."""
        ttl_ms = max(1, int(self._interval_s * 1000) - 100)
        if not self._redis.set(PASS_LOCK, "1", nx=True, px=ttl_ms):
            return []
        rebuilt = []
        seen = {_text(k): int(v) for k, v in self._redis.hgetall(SEEN).items()}
        now_seen: dict[str, int] = {}
        for activity_id, confirmed in self._open_activities():
            raw = self._redis.get(activity_keys(activity_id)[0])
            if raw is None:
                continue  # cold: the next admission warms it from Postgres anyway
            counter = int(raw)
            now_seen[str(activity_id)] = counter
            if counter > confirmed and seen.get(str(activity_id)) == counter:
                self._warmer.warm(activity_id, force=True)
                rebuilt.append(activity_id)
                log.warning(
                    "entry_seats_reconciled activity_id=%s redis=%d postgres=%d",
                    activity_id,
                    counter,
                    confirmed,
                )
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(SEEN)
        if now_seen:
            pipe.hset(SEEN, mapping=now_seen)  # type: ignore[arg-type]
        pipe.execute()
        return rebuilt

    def _open_activities(self) -> list[tuple[UUID, int]]:
        # An activity ended a day ago takes no entries; its counters expire on their own.
        since = datetime.now(UTC) - timedelta(days=1)
        with self._database.reader() as session:
            rows = session.execute(
                select(Activity.id, Activity.confirmed_count).where(
                    Activity.active.is_(True),
                    Activity.capacity.is_not(None),
                    or_(Activity.ends_at.is_(None), Activity.ends_at > since),
                )
            ).all()
        return [(i, int(c or 0)) for i, c in rows]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def reconcile_forever(reconciler: SeatReconciler, interval_s: float) -> None:
    """A pass per interval, in a worker thread (the Redis and database clients are blocking)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(reconciler.run_once)
        except Exception as exc:  # Redis or Postgres away: the next pass tries again
            log.warning("entry_reconcile_failed error=%s", type(exc).__name__)
