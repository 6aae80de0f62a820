"""EventOccurrenceService: stores a batch of occurrences idempotently, with per-type strategies.

Strategies do not touch storage: they record their effects (summary changes, purchases) for the
whole batch, and the repository applies those in a few set-based statements.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from common_messaging import EventOccurred, EventType


@dataclass(slots=True)
class SummaryChange:
    """What one batch adds to one user's summary."""

    first_seen_at: datetime
    last_seen_at: datetime
    event_count: int = 0
    purchase_count: int = 0
    total_spent: Decimal = Decimal("0")
    last_purchase_at: datetime | None = None

    def seen(self, at: datetime) -> None:
        self.first_seen_at = min(self.first_seen_at, at)
        self.last_seen_at = max(self.last_seen_at, at)
        self.event_count += 1

    def purchased(self, amount: Decimal, at: datetime) -> None:
        self.purchase_count += 1
        self.total_spent += amount
        if self.last_purchase_at is None or at > self.last_purchase_at:
            self.last_purchase_at = at


@dataclass(slots=True)
class BatchEffects:
    user_ids: Mapping[tuple[UUID, str], UUID]
    summaries: dict[UUID, SummaryChange] = field(default_factory=dict)
    purchases: list[EventOccurred] = field(default_factory=list)

    def summary(self, event: EventOccurred) -> SummaryChange:
        user_id = self.user_ids[(event.site_id, event.visitor_key)]
        change = self.summaries.get(user_id)
        if change is None:
            change = self.summaries[user_id] = SummaryChange(event.occurred_at, event.occurred_at)
        return change


class OccurrenceRepository(Protocol):
    """Writes of one unit of work; implementations add and flush, never commit."""

    def ensure_users(self, events: Sequence[EventOccurred]) -> dict[tuple[UUID, str], UUID]:
        """Ids of the events' users by (site id, visitor key), creating those first seen."""
        ...

    def insert_occurrences(
        self, events: Sequence[EventOccurred], user_ids: Mapping[tuple[UUID, str], UUID]
    ) -> set[UUID]:
        """Insert the events not stored yet; returns the event ids that were new."""
        ...

    def insert_purchases(
        self, events: Sequence[EventOccurred], user_ids: Mapping[tuple[UUID, str], UUID]
    ) -> None: ...

    def apply_summary_changes(self, changes: Mapping[UUID, SummaryChange]) -> None:
        """Merge the changes into user_summaries (creating missing rows)."""
        ...


class OccurrenceStrategy(Protocol):
    def apply(self, event: EventOccurred, effects: BatchEffects) -> None: ...


class SeenStrategy:
    """Every occurrence marks the user as seen (page views, clicks, forms, custom events)."""

    def apply(self, event: EventOccurred, effects: BatchEffects) -> None:
        effects.summary(event).seen(event.occurred_at)


class PurchaseStrategy:
    """A purchase records the order; a trusted one (vouched for by the site: sent server to
    server, or with the user's signed token) also updates last_purchase_at, count and total
    spent, the facts eligibility conditions read. A browser's word alone never changes them,
    so a forged purchase can make no shopper eligible and no victim ineligible."""

    def apply(self, event: EventOccurred, effects: BatchEffects) -> None:
        change = effects.summary(event)
        change.seen(event.occurred_at)
        if event.purchase is not None:
            effects.purchases.append(event)
            if event.trusted:
                change.purchased(event.purchase.amount, event.occurred_at)


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
    stored_ids: frozenset[UUID] = frozenset()  # the events stored for the first time


class OccurrenceStore(Protocol):
    """What the consumer's unit of work calls to store a batch (`EventOccurrenceService`)."""

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult: ...


class EventOccurrenceService:
    def __init__(self, strategies: Mapping[EventType, OccurrenceStrategy] | None = None) -> None:
        self._strategies = dict(strategies or DEFAULT_STRATEGIES)

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        """Store a batch; a replayed event id changes nothing, so strategies run once per event."""
        if not events:
            return StoreResult(0, 0)
        user_ids = repo.ensure_users(events)
        new_ids = repo.insert_occurrences(events, user_ids)
        effects = BatchEffects(user_ids)
        applied: set[UUID] = set()
        for event in events:
            if event.event_id in new_ids and event.event_id not in applied:
                applied.add(event.event_id)
                self._strategies.get(event.type, SeenStrategy()).apply(event, effects)
        repo.insert_purchases(effects.purchases, user_ids)
        repo.apply_summary_changes(effects.summaries)
        duplicates = len(events) - len(applied)
        return StoreResult(len(applied), duplicates, stored_ids=frozenset(applied))
