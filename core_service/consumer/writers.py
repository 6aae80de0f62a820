"""What core_service's two consumer loops write, one batch at a time.

`BatchWriter`: occurrences (events topic -> Postgres + analytics index).
`EntryBatchDecider`: reservations (entry gate -> the entries ledger -> decisions topic + index).
"""

import logging
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.orm import Session

from analytics_index.ports import AnalyticsIndex
from common_messaging import (
    ENTRIES_DECIDED,
    EntryDecided,
    EntryRequested,
    EventOccurred,
    EventPublisher,
    OutgoingMessage,
    encode,
)
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import OccurrenceStore
from core_service.metrics import timed_write
from entries_ledger.after_decision import CountWins
from entries_ledger.decider import EntryDecider
from entries_ledger.sql_ledger import ledger_scope
from servicekit.database import Database
from user_summaries.ports import NoSummaryCache, SummaryCache
from user_summaries.redis_cache import SummaryInvalidator

log = logging.getLogger(__name__)

RollupRecorder = Callable[[Session, Sequence[EventOccurred], Collection[UUID]], None]


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
    service: OccurrenceStore
    summaries: SummaryCache = field(default_factory=NoSummaryCache)
    concurrent_index: bool = False
    # The engine behind the index, for the client-error metric (None: the embedded SQL table).
    index_engine: str | None = None
    # The dashboard rollups (rollups.writer.record_occurrences), in the same transaction.
    rollups: RollupRecorder | None = None
    _indexer: ThreadPoolExecutor | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if self.concurrent_index:
            # One thread: batches reach the index one at a time, in order, as without it.
            self._indexer = ThreadPoolExecutor(1, thread_name_prefix="pulse-core-indexer")

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        if self._indexer is None:
            self._store(events)
            timed_write("analytics_index", self.index_engine, self.index.index, events)
            return
        indexed = self._indexer.submit(  # in this batch's trace context, on the index thread
            copy_context().run,
            timed_write,
            "analytics_index",
            self.index_engine,
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
            stored = timed_write(
                "database", None, self.service.store, events, SqlOccurrenceRepository(session)
            )
            if self.rollups is not None:  # only the events stored now add to the counts
                self.rollups(session, events, stored.stored_ids)
        # After the commit, so a concurrent cache fill cannot re-cache the old summary.
        SummaryInvalidator(self.summaries)(events)

    def healthy(self) -> bool:
        return _healthy(self.database, self.index)


@dataclass
class EntryBatchDecider:
    """Store every answer the gate gave an entry id: decide each reservation in Postgres and
    record each refusal taken at the gate (all of a batch's refusals in one statement), then
    count the wins and announce every decision.

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
        refused = [request for request in requests if request.refused is not None]
        by_id = dict(zip((r.entry_id for r in refused), decider.refuse(refused), strict=True))
        decided = [
            (request, by_id.get(request.entry_id) or decider.decide_answered(request))
            for request in requests
        ]
        CountWins(self.index, self.summaries)(decided)
        self.results.publish_sync(ENTRIES_DECIDED, [decision_message(d) for _, d in decided])

    def healthy(self) -> bool:
        return _healthy(self.database, self.index)


def decision_message(decision: EntryDecided) -> OutgoingMessage:
    return OutgoingMessage(
        value=encode(decision, message_id=decision.entry_id, producer="core_service"),
        key=str(decision.activity_id).encode(),
    )
