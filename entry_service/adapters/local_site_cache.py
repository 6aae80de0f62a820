"""The in-process layer in front of every SiteDirectory: a short TTL and single-flight.

Concurrent requests of one process for one key make one lookup below; unknown keys are cached
too (against floods of made-up keys), with the number of entries bounded.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from entry_service.domain.sites import SiteConfig

MAX_SITE_KEY_LENGTH: Final = 64  # sites.site_key is String(64): a longer key cannot exist
_MAX_ENTRIES: Final = 10_000

Fetch = Callable[[str], Awaitable[SiteConfig | None]]


class LocalSiteCache:
    def __init__(self, fetch: Fetch, ttl_s: float) -> None:
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, SiteConfig | None]] = {}
        self._inflight: dict[str, asyncio.Task[SiteConfig | None]] = {}

    async def by_key(self, site_key: str) -> SiteConfig | None:
        if len(site_key) > MAX_SITE_KEY_LENGTH:
            return None
        hit = self._entries.get(site_key)
        if hit is not None and time.monotonic() - hit[0] < self._ttl_s:
            return hit[1]
        task = self._inflight.get(site_key)
        if task is None:
            task = asyncio.ensure_future(self._refresh(site_key))
            self._inflight[site_key] = task
            task.add_done_callback(lambda _: self._inflight.pop(site_key, None))
        # Shielded: a caller that goes away does not cancel the lookup others wait on.
        return await asyncio.shield(task)

    async def _refresh(self, site_key: str) -> SiteConfig | None:
        site = await self._fetch(site_key)
        if len(self._entries) > _MAX_ENTRIES:
            self._entries.clear()
        self._entries[site_key] = (time.monotonic(), site)
        return site
