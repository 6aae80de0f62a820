"""Wiring of core_service's consumers: adapters chosen by settings, each loop on its own thread.

Two loops: occurrences (events topic -> Postgres + analytics index) and reservations (entry
gate -> the entries ledger -> decisions topic + analytics index).
"""

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextvars import copy_context
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
from core_service.adapters.es_analytics_index import ElasticsearchAnalyticsIndex
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.adapters.redis_summary_cache import SummaryInvalidator
from core_service.domain.consumer import OccurrenceConsumer, ReservationConsumer
from core_service.domain.entries import EntryDecider, confirmed_occurrences
from core_service.domain.indexing import AnalyticsIndex
from core_service.domain.occurrences import EventOccurrenceService
from core_service.domain.summaries import NoSummaryCache, SummaryCache
from core_service.metrics import lag_reporter, timed_write
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
    """Postgres (the source of truth) and the index; both idempotent by event id.

    With `concurrent_index`, the index is written on a thread of its own while Postgres is:
    both spend most of a batch waiting on their server, and the caller commits offsets only
    after this call returned, that is after both stores have the batch. A batch that fails
    in either store is retried whole (or event by event), which both absorb by event id; when
    Postgres fails, the batch's documents are removed again first, so the index never counts
    an event Postgres refused (the one-by-one retry puts the good ones back).
    Off by default: an index in the same database (the embedded SQL one) would only contend
    for the database's write lock.
    """

    database: Database
    index: AnalyticsIndex
    service: EventOccurrenceService
    summaries: SummaryCache = field(default_factory=NoSummaryCache)
    concurrent_index: bool = False
    _indexer: ThreadPoolExecutor | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if self.concurrent_index:
            # One thread: batches reach the index one at a time, in order, as without it.
            self._indexer = ThreadPoolExecutor(1, thread_name_prefix="pulse-core-indexer")

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        if self._indexer is None:
            self._store(events)
            timed_write("analytics_index", self._engine, self.index.index, events)
            return
        indexed = self._indexer.submit(  # in this batch's trace context, on the index thread
            copy_context().run,
            timed_write,
            "analytics_index",
            self._engine,
            self.index.index,
            events,
        )
        try:
            self._store(events)
        except BaseException:
            # Never return (and let the caller retry or rewind) while the bulk is in flight,
            # and keep the index within Postgres: an event Postgres refuses goes to the
            # dead-letter topic and must not stay counted. The retry indexes the others again.
            wait([indexed])
            self.index.remove(events)
            raise
        indexed.result()

    def _store(self, events: Sequence[EventOccurred]) -> None:
        with self.database.unit_of_work() as session:
            timed_write(
                "database", None, self.service.store, events, SqlOccurrenceRepository(session)
            )
        # After the commit, so a concurrent cache fill cannot re-cache the old summary.
        SummaryInvalidator(self.summaries)(events)

    def healthy(self) -> bool:
        return _healthy(self.database, self.index)

    @property
    def _engine(self) -> str | None:
        return "elasticsearch" if isinstance(self.index, ElasticsearchAnalyticsIndex) else None


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
        writer = BatchWriter(
            database,
            index,
            EventOccurrenceService(),
            cache,
            concurrent_index=isinstance(index, ElasticsearchAnalyticsIndex),
        )
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
        self._lag = lag_reporter(
            bus,
            {
                settings.consumer_group: [EVENTS_RAW],
                settings.entries_consumer_group: [ENTRIES_REQUESTED],
            },
        )
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
        if self._lag is not None:
            self._lag.start()

    def is_alive(self) -> bool:
        return all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._lag is not None:
            self._lag.stop()
        for thread in self._threads:
            thread.join(timeout_s)
        self._publisher.close()
