"""The entry benchmark's baseline: a lock per request around read-check-increment in Redis.

This is the gate as first designed: per request, take a python-redis-lock `Lock` named for the
activity (hash tag `{a:<id>}`, so it lives in the activity's slot), read the count, the user's
entries and the idempotency key, check capacity and the per-user limit, increment, release.
python-redis-lock is synchronous, so the critical section runs in a worker thread
(`asyncio.to_thread`), as it would have to in the service.

Everything else is the production gate's: `LockPerRequestAdmission` is an `Admission` that
entry_service's composition root (`wiring.open_ports`) takes in place of the atomic Lua script,
so the outcome codes, the reservation's publish and delivery wait, the entry record and the SQL
fallback are the same code in both variants. `create_app` is entry_service's own app built with
this admission step; production code has no switch for it.
"""

import asyncio
import logging
import time
from functools import partial
from typing import Final
from uuid import UUID

import redis
import redis.asyncio as aioredis
import redis_lock
from fastapi import FastAPI

from common_messaging import EntryRequested
from entry_service.adapters.rate_limit import RedisRateLimiter
from entry_service.adapters.redis_entry_gate import Admission
from entry_service.adapters.redis_gate_scripts import activity_keys, idempotency_field
from entry_service.adapters.redis_warmer import CountersUnavailable, RedisCounterWarmer
from entry_service.domain.entries import ActivityView, RateCheck
from entry_service.main import create_app as create_entry_app
from entry_service.settings import get_settings
from entry_service.wiring import open_ports

log = logging.getLogger(__name__)

LOCK_EXPIRE_S: Final = 5  # far above the critical section (a few round trips)
LOCK_WAIT_S: Final = 10.0  # then CountersUnavailable: the production SQL fallback answers


def admit_lock_name(activity_id: UUID, prefix: str = "pulse") -> str:
    """The per-activity admission lock (python-redis-lock adds `lock:` / `lock-signal:`)."""
    return f"{prefix}:{{a:{activity_id}}}:admit"


class LockedAdmission:
    """Read-check-increment under a python-redis-lock per activity (synchronous client)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def admit(
        self,
        activity_id: UUID,
        user_id: str,
        idempotency_key: str,
        entry_id: UUID,
        capacity: int,
        per_user_limit: int,
    ) -> list[str]:
        """The ADMIT script's contract (same arguments, capacity -1 = none, same answers:
        ok/dup with "<entry id>:<position>", user, full, cold), under a lock. Blocking."""
        count_key, users_key, keys_key = activity_keys(activity_id)
        field = idempotency_field(user_id, idempotency_key)
        lock = redis_lock.Lock(self._client, admit_lock_name(activity_id), expire=LOCK_EXPIRE_S)
        deadline = time.monotonic() + LOCK_WAIT_S
        # One-second steps, as servicekit.redis_fill does: the BLPOP stays under the client's
        # 2 s socket timeout.
        while not lock.acquire(blocking=True, timeout=1):
            if time.monotonic() >= deadline:
                raise CountersUnavailable(f"admission lock of activity {activity_id} is busy")
        try:
            # The baseline's best shot: one round trip to read, one to write.
            reads = self._client.pipeline(transaction=False)
            reads.get(count_key)
            reads.hget(keys_key, field)
            reads.hget(users_key, user_id)
            count, prior, mine = reads.execute()
            if count is None:
                return ["cold"]
            if prior is not None:
                return ["dup", prior.decode()]
            if int(mine or 0) >= per_user_limit:
                return ["user"]
            if capacity >= 0 and int(count) >= capacity:
                return ["full"]
            position = int(count) + 1
            value = f"{entry_id}:{position}"
            writes = self._client.pipeline(transaction=False)
            writes.incr(count_key)
            writes.hincrby(users_key, user_id, 1)
            writes.hset(keys_key, field, value)
            writes.execute()
            return ["ok", value]
        finally:
            try:
                lock.release()
            except redis_lock.NotAcquired:  # held longer than it lives: mutual exclusion lost
                log.warning("baseline_lock_expired activity_id=%s", activity_id)


class LockPerRequestAdmission:
    """The gate's admission step done the baseline's way; the rest of the gate is production's.

    An `Admission` (entry_service.adapters.redis_entry_gate), passed to entry_service's own
    composition root in place of the atomic script: no production class is subclassed. The
    rate limits are the production `RedisRateLimiter` (one pipelined round trip) and the gate
    writes the answer's copy (one more), as the gate did before the one-script decision."""

    records_answers = False

    def __init__(
        self, locked: LockedAdmission, warmer: RedisCounterWarmer, limiter: RedisRateLimiter
    ) -> None:
        self._locked = locked
        self._warmer = warmer
        self._limiter = limiter

    async def __call__(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck | None = None
    ) -> list[str]:
        if check is not None and await self._limiter.hit(check.limits, check.window_s):
            return ["limited"]
        if request.refused is not None:
            return ["refused"]
        return await asyncio.to_thread(self._admit_blocking, request, activity)

    def _admit_blocking(self, request: EntryRequested, activity: ActivityView) -> list[str]:
        capacity = -1 if activity.capacity is None else activity.capacity
        args = (request.user_id, request.idempotency_key, request.entry_id)
        for _ in range(3):
            outcome = self._locked.admit(activity.id, *args, capacity, activity.per_user_limit)
            if outcome[0] != "cold":
                return outcome
            self._warmer.warm(activity.id)
        raise CountersUnavailable(f"counters of activity {activity.id} keep going cold")


def create_app() -> FastAPI:
    """entry_service as `entry_service.main:create_app` builds it, with the baseline's
    admission step in its gate."""
    settings = get_settings()
    if not settings.redis.url or not settings.kafka_bootstrap_servers:
        raise RuntimeError("the lock-per-request baseline needs PULSE_REDIS_URL and Kafka")
    # python-redis-lock is synchronous: a client of its own, for the server's lifetime.
    lock_client = redis.Redis.from_url(settings.redis.url)

    def admission(client: aioredis.Redis, warmer: RedisCounterWarmer) -> Admission:
        limiter = RedisRateLimiter(client)
        return LockPerRequestAdmission(LockedAdmission(lock_client), warmer, limiter)

    return create_entry_app(settings, partial(open_ports, admission=admission))
