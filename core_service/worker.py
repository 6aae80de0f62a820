"""Wiring of core_service's consumers: adapters chosen by settings, each loop on its own thread.

Two loops: occurrences (events topic -> Postgres + analytics index) and reservations (entry
gate -> the entries ledger -> decisions topic + analytics index).
"""

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from common_messaging import (
    ENTRIES_DECIDED,
    ENTRIES_REQUESTED,
    EVENTS_RAW,
    EntryDecided,
    EntryRequested,
    EventOccurred,
    EventPublisher,
    OutgoingMessage,
    encode,
)
from common_messaging.bus import open_consumer, open_publisher
from core_service.adapters.analytics_factory import open_analytics_index
from core_service.adapters.entry_ledger import ledger_scope
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.adapters.redis_summary_cache import SummaryInvalidator
from core_service.domain.consumer import OccurrenceConsumer, ReservationConsumer
from core_service.domain.entries import EntryDecider, confirmed_occurrences
from core_service.domain.indexing import AnalyticsIndex
from core_service.domain.occurrences import EventOccurrenceService
from core_service.domain.summaries import NoSummaryCache, SummaryCache
from core_service.settings import CoreSettings
from servicekit.database import Database

log = logging.getLogger(__name__)


def _healthy(database: Database, index: AnalyticsIndex) -> bool:
    try:
        with database.reader() as session:
            session.connection()
        index.ping()
    except Exception:  # any failure means "not healthy"; the caller backs off
        return False
    return True


@dataclass
class BatchWriter:
    """Postgres first (the source of truth), then the index; both idempotent by event id."""

    database: Database
    index: AnalyticsIndex
    service: EventOccurrenceService
    summaries: SummaryCache = field(default_factory=NoSummaryCache)

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        with self.database.unit_of_work() as session:
            self.service.store(events, SqlOccurrenceRepository(session))
        # After the commit, so a concurrent cache fill cannot re-cache the old summary.
        SummaryInvalidator(self.summaries)(events)
        self.index.index(events)

    def healthy(self) -> bool:
        return _healthy(self.database, self.index)


@dataclass
class EntryBatchDecider:
    """Decide each reservation in Postgres, then index the won ones and announce every answer.

    A replay decides nothing twice (the ledger answers from its rows) and re-announces the same
    decisions, which listeners treat as idempotent by entry id.
    """

    database: Database
    index: AnalyticsIndex
    results: EventPublisher
    summaries: SummaryCache = field(default_factory=NoSummaryCache)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __call__(self, requests: Sequence[EntryRequested]) -> None:
        decider = EntryDecider(ledger_scope(self.database), self.clock)
        decided = [(request, decider.decide(request)) for request in requests]
        won = list(confirmed_occurrences(decided))
        # Only a confirmed entry changes a summary (entry_count, last_entry_at).
        for site_id in {event.site_id for event in won}:
            self.summaries.invalidate(
                site_id, [event.visitor_key for event in won if event.site_id == site_id]
            )
        self.index.index(won)
        self.results.publish_sync(ENTRIES_DECIDED, [decision_message(d) for _, d in decided])

    def healthy(self) -> bool:
        return _healthy(self.database, self.index)


def decision_message(decision: EntryDecided) -> OutgoingMessage:
    return OutgoingMessage(
        value=encode(decision, message_id=decision.entry_id, producer="core_service"),
        key=str(decision.activity_id).encode(),
    )


class ConsumerThread:
    """Both consumer loops, started and stopped together."""

    def __init__(
        self, settings: CoreSettings, database: Database, summaries: SummaryCache | None = None
    ) -> None:
        bus = settings.bus_settings()
        index = open_analytics_index(settings, database)
        cache = summaries or NoSummaryCache()
        writer = BatchWriter(database, index, EventOccurrenceService(), cache)
        self._publisher = open_publisher(bus)
        occurrences = OccurrenceConsumer(
            open_consumer(bus, settings.consumer_group, [EVENTS_RAW]),
            self._publisher,
            writer,
            writer.healthy,
            batch_size=settings.consumer_batch_size,
            poll_timeout_s=settings.consumer_poll_timeout_s,
        )
        decider = EntryBatchDecider(database, index, self._publisher, cache)
        reservations = ReservationConsumer(
            open_consumer(bus, settings.entries_consumer_group, [ENTRIES_REQUESTED]),
            self._publisher,
            decider,
            decider.healthy,
            batch_size=settings.entries_batch_size,
            poll_timeout_s=settings.entries_poll_timeout_s,
        )
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=occurrences.run, args=(self._stop,), name="pulse-core-consumer", daemon=True
            ),
            threading.Thread(
                target=reservations.run, args=(self._stop,), name="pulse-core-entries", daemon=True
            ),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def is_alive(self) -> bool:
        return all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._publisher.close()
