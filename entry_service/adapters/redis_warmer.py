"""Rebuild an activity's gate counters in Redis from Postgres, once across all processes.

python-redis-lock guards the rebuild (its API is synchronous: this runs in a worker thread,
never on the event loop). Reservations still in flight are not in Postgres yet, so right
after a rebuild Redis may admit a few too many; Postgres refuses those `sold_out`.
"""

import logging
from uuid import UUID

import redis
import redis_lock
from redis.typing import EncodableT, FieldT
from sqlalchemy import func, select

from datastore.schema import Activity, Entry
from entry_service.adapters.redis_gate_scripts import (
    KEY_TTL_S,
    activity_keys,
    idempotency_field,
    lock_name,
)
from servicekit.database import Database

log = logging.getLogger(__name__)


class CountersUnavailable(RuntimeError):
    """The rebuild lock could not be had in time; the caller falls back to Postgres."""


class RedisCounterWarmer:
    def __init__(
        self,
        client: redis.Redis,
        database: Database,
        *,
        lock_expire_s: int = 15,
        wait_s: float = 1.5,
    ) -> None:
        self._redis = client
        self._database = database
        self._lock_expire_s = lock_expire_s
        self._wait_s = wait_s

    def warm(self, activity_id: UUID, *, force: bool = False) -> bool:
        """Rebuild unless already warm (or `force`); True when this call rebuilt them."""
        count_key, users_key, keys_key = activity_keys(activity_id)
        # The wait stays under the client's 2 s socket timeout (the lock waits in a BLPOP).
        lock = redis_lock.Lock(self._redis, lock_name(activity_id), expire=self._lock_expire_s)
        if not lock.acquire(blocking=True, timeout=self._wait_s):
            raise CountersUnavailable(f"counters of activity {activity_id} are being rebuilt")
        try:
            if not force and self._redis.exists(count_key):
                return False  # another process warmed them while we waited
            confirmed, users, keys = self._read(activity_id)
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(users_key, keys_key)
            if users:
                pipe.hset(users_key, mapping=users)
            if keys:
                pipe.hset(keys_key, mapping=keys)
            # Last: `count` present is what tells the admit script the rest is in place.
            pipe.set(count_key, confirmed)
            for key in (count_key, users_key, keys_key):
                pipe.expire(key, KEY_TTL_S)
            pipe.execute()
            log.info("entry_counters_warmed activity_id=%s confirmed=%d", activity_id, confirmed)
            return True
        finally:
            lock.release()

    def _read(
        self, activity_id: UUID
    ) -> tuple[int, dict[FieldT, EncodableT], dict[FieldT, EncodableT]]:
        with self._database.reader() as session:
            confirmed = session.scalar(
                select(Activity.confirmed_count).where(Activity.id == activity_id)
            )
            users = session.execute(
                select(Entry.user_id, func.count())
                .where(Entry.activity_id == activity_id, Entry.status == "confirmed")
                .group_by(Entry.user_id)
            ).all()
            keys = session.execute(
                select(Entry.user_id, Entry.idempotency_key, Entry.id, Entry.position).where(
                    Entry.activity_id == activity_id, Entry.status == "confirmed"
                )
            ).all()
        return (
            int(confirmed or 0),
            {user: int(n) for user, n in users},
            {idempotency_field(u, k): f"{i}:{p}" for u, k, i, p in keys},
        )
