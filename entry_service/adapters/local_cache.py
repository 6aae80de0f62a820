"""The in-process layer in front of shared lookups: a short TTL and single-flight.

Concurrent requests of one process for one key make one lookup below (a spike of thousands of
shoppers on one activity costs one database read); unknown keys are cached too (against floods
of made-up keys), with the number of entries bounded.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar

from entry_service.domain.sites import SiteConfig

MAX_SITE_KEY_LENGTH: Final = 64  # sites.site_key is String(64): a longer key cannot exist
_MAX_ENTRIES: Final = 10_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LocalCache(Generic[K, V]):
    def __init__(self, fetch: Callable[[K], Awaitable[V | None]], ttl_s: float) -> None:
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._entries: dict[K, tuple[float, V | None]] = {}
        self._inflight: dict[K, asyncio.Task[V | None]] = {}

    async def get(self, key: K) -> V | None:
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._ttl_s:
            return hit[1]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._refresh(key))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        # Shielded: a caller that goes away does not cancel the lookup others wait on.
        return await asyncio.shield(task)

    async def _refresh(self, key: K) -> V | None:
        value = await self._fetch(key)
        if len(self._entries) > _MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)
        return value


class LocalSiteCache(LocalCache[str, SiteConfig]):
    async def by_key(self, site_key: str) -> SiteConfig | None:
        if len(site_key) > MAX_SITE_KEY_LENGTH:
            return None
        return await self.get(site_key)
