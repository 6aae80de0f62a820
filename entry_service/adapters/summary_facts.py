"""FactsSource over the shared user summaries (read through their Redis cache)."""

import asyncio
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from user_summaries.ports import SummaryCache, SummaryReader


class SummaryFacts:
    """The shared reader and cache, so the consumer's invalidation covers us too."""

    def __init__(self, reader: SummaryReader, cache: SummaryCache) -> None:
        self._reader = reader
        self._cache = cache

    async def facts(self, site_id: UUID, user_key: str) -> Mapping[str, Any]:
        def read() -> Mapping[str, Any]:
            view = self._cache.get_or_load(
                site_id, user_key, lambda: self._reader.get(site_id, user_key)
            )
            return {} if view is None else view.facts()

        return await asyncio.to_thread(read)
