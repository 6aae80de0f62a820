"""Read-through Redis caching whose fills are guarded by python-redis-lock.

On a miss, the lock holder re-checks the cache, loads once and writes the cache; waiters
re-check the cache whenever they get the lock, so a stampede on a cold key costs one load. The
lock expires after `lock_expire_s` (a crashed holder cannot block the key for longer), and a
waiter that has waited `lock_wait_s` loads by itself. With a `watch_key`, a fill that raced a
bump of that key (an invalidation) answers but is not cached.

Redis is an accelerator, never a dependency: any Redis error is logged as
`<name>_redis_unavailable`, Redis is skipped for `cooldown_s`, and `load` answers. Everything
here blocks: call it from a worker thread, never on an event loop. The Redis client's
`socket_timeout` must exceed one second (a lock wait blocks in BLPOP for up to 1 s).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

import redis
import redis_lock

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Miss:
    """Nothing usable in Redis for the key."""


MISS: Final = _Miss()


@dataclass
class LockGuardedFill(Generic[T]):
    """Caches `T | None` values; None ("no such thing") is kept for `negative_ttl_s`."""

    client: redis.Redis
    name: str  # prefix of log event names, e.g. "site_cache"
    encode: Callable[[T | None], bytes]
    decode: Callable[[bytes | str], T | None]
    ttl_s: int
    negative_ttl_s: int
    lock_expire_s: int = 5
    lock_wait_s: float = 3.0
    cooldown_s: float = 5.0
    _redis_down_until: float = field(default=0.0, init=False)

    def read(
        self, key: str, lock_name: str, load: Callable[[], T | None], watch_key: str | None = None
    ) -> T | None:
        if time.monotonic() < self._redis_down_until:
            return load()
        try:
            return self._through_redis(key, lock_name, load, watch_key)
        except redis.RedisError as exc:
            self._redis_down_until = time.monotonic() + self.cooldown_s
            log.warning(
                "%s_redis_unavailable error=%s fallback=database cooldown_s=%s",
                self.name,
                type(exc).__name__,
                self.cooldown_s,
            )
            return load()

    def _through_redis(
        self, key: str, lock_name: str, load: Callable[[], T | None], watch_key: str | None
    ) -> T | None:
        cached = self._cached(key)
        if not isinstance(cached, _Miss):
            return cached
        lock = redis_lock.Lock(self.client, lock_name, expire=self.lock_expire_s)
        deadline = time.monotonic() + self.lock_wait_s
        while time.monotonic() < deadline:
            # One-second steps (the library's smallest): a waiter the release signal did not
            # wake still sees the filled cache within a second.
            if lock.acquire(blocking=True, timeout=1):
                try:
                    return self._fill(key, load, watch_key)
                finally:
                    self._release(lock, key)
            cached = self._cached(key)
            if not isinstance(cached, _Miss):
                return cached
        log.warning("%s_fill_wait_timeout key=%s fallback=database", self.name, key)
        return load()

    def _fill(self, key: str, load: Callable[[], T | None], watch_key: str | None) -> T | None:
        cached = self._cached(key)  # filled by the previous holder while this one waited
        if not isinstance(cached, _Miss):
            return cached
        with self.client.pipeline(transaction=True) as pipe:
            if watch_key is not None:
                pipe.watch(watch_key)  # type: ignore[no-untyped-call]
            value = load()
            try:
                pipe.multi()
                ttl = self.ttl_s if value is not None else self.negative_ttl_s
                pipe.set(key, self.encode(value), ex=ttl)
                pipe.execute()
            except redis.WatchError:
                log.debug("%s_fill_discarded key=%s reason=invalidated", self.name, key)
            except redis.RedisError as exc:  # the answer is good; only caching it failed
                log.warning("%s_write_failed key=%s error=%s", self.name, key, exc)
        return value

    def _release(self, lock: redis_lock.Lock, key: str) -> None:
        try:
            lock.release()
        except redis_lock.NotAcquired:
            log.warning("%s_fill_lock_expired key=%s", self.name, key)
        except redis.RedisError as exc:  # expires by itself; never hide the answer
            log.warning("%s_fill_unlock_failed key=%s error=%s", self.name, key, exc)

    def _cached(self, key: str) -> T | None | _Miss:
        raw = self.client.get(key)
        if raw is None:
            return MISS
        try:
            return self.decode(raw)
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            log.warning("%s_entry_unreadable key=%s error=%s", self.name, key, exc)
            return MISS
