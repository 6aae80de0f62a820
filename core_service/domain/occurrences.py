"""EventOccurrenceService: stores occurrences idempotently and applies per-type strategies."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from common_messaging import EventOccurred, EventType


class OccurrenceRepository(Protocol):
    """Writes of one unit of work; implementations add and flush, never commit."""

    def ensure_user(self, event: EventOccurred) -> UUID:
        """The id of the event's user (created on first sight)."""
        ...

    def insert_occurrence(self, event: EventOccurred, user_id: UUID) -> bool:
        """Insert unless the event id is already stored; True when inserted."""
        ...

    def touch_summary(self, user_id: UUID, seen_at: datetime) -> None:
        """Create or update first/last seen and the event count."""
        ...

    def insert_purchase(self, event: EventOccurred, user_id: UUID) -> None: ...

    def add_purchase_to_summary(self, user_id: UUID, amount: Decimal, at: datetime) -> None: ...


class OccurrenceStrategy(Protocol):
    def apply(self, event: EventOccurred, user_id: UUID, repo: OccurrenceRepository) -> None: ...


class SeenStrategy:
    """Every occurrence marks the user as seen (page views, clicks, forms, custom events)."""

    def apply(self, event: EventOccurred, user_id: UUID, repo: OccurrenceRepository) -> None:
        repo.touch_summary(user_id, event.occurred_at)


class PurchaseStrategy:
    """A purchase records the order and updates last_purchase_at, count and total spent."""

    def apply(self, event: EventOccurred, user_id: UUID, repo: OccurrenceRepository) -> None:
        repo.touch_summary(user_id, event.occurred_at)
        if event.purchase is None:
            return
        repo.insert_purchase(event, user_id)
        repo.add_purchase_to_summary(user_id, event.purchase.amount, event.occurred_at)


DEFAULT_STRATEGIES: Mapping[EventType, OccurrenceStrategy] = {
    EventType.PAGE_VIEW: SeenStrategy(),
    EventType.CLICK: SeenStrategy(),
    EventType.FORM_SUBMIT: SeenStrategy(),
    EventType.CUSTOM: SeenStrategy(),
    EventType.PURCHASE: PurchaseStrategy(),
}


@dataclass(frozen=True, slots=True)
class StoreResult:
    stored: int
    duplicates: int


class EventOccurrenceService:
    def __init__(self, strategies: Mapping[EventType, OccurrenceStrategy] | None = None) -> None:
        self._strategies = dict(strategies or DEFAULT_STRATEGIES)

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        """Store a batch; a replayed event id changes nothing, so strategies run once per event."""
        stored = duplicates = 0
        for event in events:
            user_id = repo.ensure_user(event)
            if not repo.insert_occurrence(event, user_id):
                duplicates += 1
                continue
            self._strategies.get(event.type, SeenStrategy()).apply(event, user_id, repo)
            stored += 1
        return StoreResult(stored=stored, duplicates=duplicates)
