"""User summaries: their view, and the ports to read them from the database through a cache.

The ports are synchronous (blocking); callers run them off the event loop. The cache
is read-through: `get_or_load` answers from the cache or calls `load` (the reader) and keeps
its answer, "no such user" included. The consumer calls `invalidate` for the users of every
batch it commits, so a summary is never served stale after its change is committed (within
the cache's TTL if the cache is unreachable at that moment).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class UserSummaryView:
    site_id: UUID
    user_key: str
    first_seen_at: datetime
    last_seen_at: datetime
    event_count: int
    last_purchase_at: datetime | None
    purchase_count: int
    total_spent: Decimal
    entry_count: int = 0
    last_entry_at: datetime | None = None

    def facts(self) -> dict[str, object]:
        """The fields eligibility conditions test (see common_messaging.conditions)."""
        return {
            "first_seen_at": self.first_seen_at,
            "last_seen_at": self.last_seen_at,
            "event_count": self.event_count,
            "last_purchase_at": self.last_purchase_at,
            "purchase_count": self.purchase_count,
            "total_spent": self.total_spent,
            "entry_count": self.entry_count,
            "last_entry_at": self.last_entry_at,
        }


class SummaryReader(Protocol):
    def get(self, site_id: UUID, user_key: str) -> UserSummaryView | None: ...


class SummaryCache(Protocol):
    def get_or_load(
        self,
        site_id: UUID,
        user_key: str,
        load: Callable[[], UserSummaryView | None],
    ) -> UserSummaryView | None:
        """The cached answer, or `load()`'s (cached for next time)."""
        ...

    def invalidate(self, site_id: UUID, user_keys: Sequence[str]) -> None:
        """Forget these users' summaries; never raises (a failure is logged)."""
        ...


class NoSummaryCache:
    """The embedded default: every read goes to the database."""

    def get_or_load(
        self,
        site_id: UUID,
        user_key: str,
        load: Callable[[], UserSummaryView | None],
    ) -> UserSummaryView | None:
        return load()

    def invalidate(self, site_id: UUID, user_keys: Sequence[str]) -> None:
        return None
