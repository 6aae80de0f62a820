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
from core_service.domain.enrichment import Enricher, collected


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
            at = seen_at(event)
            change = self.summaries[user_id] = SummaryChange(at, at)
        return change


def seen_at(event: EventOccurred) -> datetime:
    """When the summary counts the event as seen. Conditions read `first_seen_at`, so only the
    site's word (a trusted event) may date it back; a browser's event counts at the time we
    received it, so a forged event cannot make a user look older than their first real visit."""
    return event.occurred_at if event.trusted else event.received_at


class OccurrenceRepository(Protocol):
    """Writes of one unit of work; implementations add and flush, never commit."""

    def ensure_users(self, events: Sequence[EventOccurred]) -> dict[tuple[UUID, str], UUID]:
        """Ids of the events' users by (site id, visitor key), creating those first seen."""
        ...

    def first_sightings(self, events: Sequence[EventOccurred]) -> dict[tuple[UUID, str], datetime]:
        """When each of the events' visitors was first seen on its site, recording the ones
        seen now for the first time (at their earliest receive time in the batch)."""
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
        effects.summary(event).seen(seen_at(event))


class PurchaseStrategy:
    """A purchase records the order; a trusted one (vouched for by the site: sent server to
    server, or with the user's signed token) also updates last_purchase_at, count and total
    spent, the facts eligibility conditions read. A browser's word alone never changes them,
    so a forged purchase can make no shopper eligible and no victim ineligible."""

    def apply(self, event: EventOccurred, effects: BatchEffects) -> None:
        change = effects.summary(event)
        change.seen(seen_at(event))
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
    """What a batch's unit of work did.

    `events`: the whole batch, enriched, in order; duplicates included, enriched exactly as on
    their first delivery (what the index is fed, so a replay after a crash still indexes them).
    `inserted`: the events whose rows this unit of work actually inserted, once each (after
    the dedup by event id): the single place to derive anything counted per event.
    """

    stored: int
    duplicates: int
    events: Sequence[EventOccurred] = ()
    inserted: Sequence[EventOccurred] = ()


class OccurrenceStore(Protocol):
    """What the consumer's unit of work calls to store a batch (`EventOccurrenceService`)."""

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult: ...


class NotEnrichable(RuntimeError):
    """Collected events reached a store built without an enricher (a wiring fault)."""


class EventOccurrenceService:
    def __init__(
        self,
        strategies: Mapping[EventType, OccurrenceStrategy] | None = None,
        enricher: Enricher | None = None,
    ) -> None:
        self._strategies = dict(strategies or DEFAULT_STRATEGIES)
        self._enricher = enricher

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        """Store a batch; a replayed event id changes nothing, so strategies run once per event."""
        if not events:
            return StoreResult(0, 0)
        user_ids = repo.ensure_users(events)
        events = self._enriched(events, repo)
        new_ids = repo.insert_occurrences(events, user_ids)
        effects = BatchEffects(user_ids)
        inserted: dict[UUID, EventOccurred] = {}
        for event in events:
            if event.event_id in new_ids and event.event_id not in inserted:
                inserted[event.event_id] = event
                self._strategies.get(event.type, SeenStrategy()).apply(event, effects)
        repo.insert_purchases(effects.purchases, user_ids)
        repo.apply_summary_changes(effects.summaries)
        return StoreResult(
            stored=len(inserted),
            duplicates=len(events) - len(inserted),
            events=events,
            inserted=list(inserted.values()),
        )

    def _enriched(
        self, events: Sequence[EventOccurred], repo: OccurrenceRepository
    ) -> Sequence[EventOccurred]:
        todo = collected(events)
        if not todo:
            return events
        if self._enricher is None:
            raise NotEnrichable("collected events need an Enricher (core_service.wiring)")
        return self._enricher.enrich(events, repo.first_sightings(todo))
