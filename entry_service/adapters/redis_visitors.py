"""VisitorRegistry over Redis: one `SET NX` per visitor marks the first sighting.

Key `<prefix>:visitor:{<site_id>}:<visitor_key>` (one hash tag per site: a batch's keys share
a cluster slot), value the first-seen time as ISO 8601 UTC. One pipeline per batch: per key
`SET key now NX EX ttl` then `GETEX key EX ttl`, which returns the stored first sighting and
slides the expiry. The expiry (default 400 days) is a sliding window of inactivity: a visitor
unseen for longer counts as new again, and abandoned anonymous ids do not pile up forever.

Redis down: the batch goes to `fallback` (the SQL registry) and a warning is logged
(`visitor_registry_redis_unavailable`); Redis is skipped for `cooldown_s`. Ingestion keeps
working; visitors first seen during the outage are recorded in SQL only, so after the outage
Redis may call some of them new once more (new-vs-returning is analytics, not accounting).
"""

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from entry_service import metrics
from entry_service.domain.sites import VisitorRegistry

log = logging.getLogger(__name__)

DEFAULT_TTL_S: Final = 400 * 24 * 3600


class RedisVisitorRegistry:
    def __init__(
        self,
        redis_client: aioredis.Redis,
        fallback: VisitorRegistry,
        *,
        ttl_s: int = DEFAULT_TTL_S,
        cooldown_s: float = 5.0,
        key_prefix: str = "pulse",
    ) -> None:
        self._redis = redis_client
        self._fallback = fallback
        self._ttl_s = ttl_s
        self._cooldown_s = cooldown_s
        self._prefix = key_prefix
        self._redis_down_until = 0.0

    async def first_seen(
        self, site_id: UUID, visitor_keys: Sequence[str], now: datetime
    ) -> dict[str, datetime]:
        keys = list(dict.fromkeys(visitor_keys))
        if not keys:
            return {}
        if time.monotonic() >= self._redis_down_until:
            try:
                return await self._first_seen(site_id, keys, now)
            except RedisError as exc:
                metrics.redis_error("visitors")
                self._redis_down_until = time.monotonic() + self._cooldown_s
                log.warning(
                    "visitor_registry_redis_unavailable error=%s fallback=database cooldown_s=%s",
                    type(exc).__name__,
                    self._cooldown_s,
                )
        return await self._fallback.first_seen(site_id, keys, now)

    async def _first_seen(
        self, site_id: UUID, keys: list[str], now: datetime
    ) -> dict[str, datetime]:
        stamp = now.astimezone(UTC).isoformat()
        pipe = self._redis.pipeline(transaction=False)
        for visitor_key in keys:
            key = f"{self._prefix}:visitor:{{{site_id}}}:{visitor_key}"
            pipe.set(key, stamp, nx=True, ex=self._ttl_s)
            pipe.getex(key, ex=self._ttl_s)
        replies = await pipe.execute()
        seen: dict[str, datetime] = {}
        for visitor_key, stored in zip(keys, replies[1::2], strict=True):
            if stored is None:  # evicted between the two commands: it was just set
                seen[visitor_key] = now
                continue
            text = stored.decode() if isinstance(stored, bytes) else str(stored)
            seen[visitor_key] = datetime.fromisoformat(text)
        return seen


__all__ = ["RedisVisitorRegistry"]
