"""What core_service's two consumer loops write, one batch at a time.

`BatchWriter`: occurrences (events topic -> enriched, Postgres -> the index or its feed).
`IndexWriter`: the feed (enriched topic -> Elasticsearch `_bulk`).
`EntryBatchDecider`: reservations (entry gate -> the entries ledger -> decisions topic + index).
"""

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
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
from core_service.domain.occurrences import OccurrenceStore, StoreResult
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
    """The store group's batch: enrich and store in Postgres (the source of truth, idempotent
    by event id), then hand the enriched batch to the index.

    `index` is, with Elasticsearch, an `IndexFeed`: the enriched batch goes to
    `pulse.events.enriched.v1` with one flush, after the Postgres commit and before the caller
    commits offsets, and the index group (`IndexWriter`) brings it into Elasticsearch at its own
    pace; an Elasticsearch outage never stops this group. On the embedded default it is the SQL
    index, written right after the commit. Either way the whole enriched batch is handed on,
    replays included (enriched as on their first delivery), so a crash between the commit and
    the hand-over loses nothing from the index; it absorbs them by event id.
    """

    database: Database
    index: AnalyticsIndex
    service: OccurrenceStore
    summaries: SummaryCache = field(default_factory=NoSummaryCache)
    # The engine behind the index, for the client-error metric (None: the embedded SQL table).
    index_engine: str | None = None
    # The dashboard rollups (rollups.writer.record_occurrences), in the same transaction.
    rollups: RollupRecorder | None = None

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        result = self.store(events)
        timed_write("analytics_index", self.index_engine, self.index.index, result.events)

    def store(self, events: Sequence[EventOccurred]) -> StoreResult:
        with self.database.unit_of_work() as session:
            result = timed_write(
                "database", None, self.service.store, events, SqlOccurrenceRepository(session)
            )
            if self.rollups is not None:  # enriched; only the events inserted now add counts
                self.rollups(session, result.events, [e.event_id for e in result.inserted])
        # After the commit, so a concurrent cache fill cannot re-cache the old summary.
        SummaryInvalidator(self.summaries)(events)
        return result

    def healthy(self) -> bool:
        return _healthy(self.database, self.index)


class BulkSink(Protocol):
    """Where the index group's lines go (`ElasticsearchAnalyticsIndex`)."""

    def apply_bulk_lines(self, lines: Sequence[bytes]) -> None: ...

    def ping(self) -> None: ...


@dataclass
class IndexWriter:
    """The index group's batch: pre-serialised `_bulk` lines from the store group, into
    Elasticsearch in one request (document id = event id, so a replay changes nothing)."""

    index: BulkSink

    def __call__(self, lines: Sequence[bytes]) -> None:
        timed_write("analytics_index", "elasticsearch", self.index.apply_bulk_lines, lines)

    def healthy(self) -> bool:
        try:
            self.index.ping()
        except Exception:  # any failure means "not healthy"; the caller backs off
            return False
        return True


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
