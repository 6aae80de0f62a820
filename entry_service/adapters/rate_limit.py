"""Fixed-window rate limiters: per process (embedded default) and shared in Redis."""

import logging
import time
from collections.abc import Sequence
from typing import Final

import redis.asyncio as aioredis

from entry_service import metrics
from entry_service.adapters.redis_gate_scripts import rate_limit_key

log = logging.getLogger(__name__)

_MAX_KEYS: Final = 100_000


class MemoryRateLimiter:
    """One process's counts; enough when one process serves everything (the embedded default)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    async def hit(self, limits: Sequence[tuple[str, int]], window_s: int) -> float | None:
        now = time.time()
        window = int(now // window_s)
        if len(self._counts) > _MAX_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
        over = False
        for key, limit in limits:
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            over = over or count > limit
        return (window + 1) * window_s - now if over else None


class RedisRateLimiter:
    """INCR on a key per window, shared by every entry_service process.

    Fails open: when Redis is unreachable, entries go on (the gate and Postgres still enforce
    capacity and the per-user limit); only the flood protection is lost for that moment.
    """

    def __init__(self, client: aioredis.Redis, prefix: str = "pulse:rl") -> None:
        self._redis = client
        self._prefix = prefix
        self._warned_at = 0.0

    async def hit(self, limits: Sequence[tuple[str, int]], window_s: int) -> float | None:
        now = time.time()
        window = int(now // window_s)
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key, _ in limits:
                name = rate_limit_key(key, window, self._prefix)
                pipe.incr(name)
                pipe.expire(name, window_s + 1)
            replies = await pipe.execute()
        except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
            metrics.rate_limit_failed_open()
            metrics.redis_error("rate_limit")
            if now - self._warned_at >= 10:  # once per 10 s, not once per request of a spike
                self._warned_at = now
                log.warning("entry_rate_limit_unavailable error=%s limits=off", type(exc).__name__)
            return None
        counts = replies[::2]
        over = any(int(count) > limit for count, (_, limit) in zip(counts, limits, strict=True))
        return (window + 1) * window_s - now if over else None
