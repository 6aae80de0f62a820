"""The analytics index port: core_service writes occurrences to it after the durable store."""

from collections.abc import Sequence
from typing import Protocol

from common_messaging import EventOccurred


class AnalyticsIndex(Protocol):
    def index(self, events: Sequence[EventOccurred]) -> None:
        """Index documents keyed by event id, so a replay overwrites rather than duplicates."""
        ...

    def remove(self, events: Sequence[EventOccurred]) -> None:
        """Delete these events' documents (absent ones are fine)."""
        ...

    def ping(self) -> None: ...
