"""The real occurrence consumer's two groups, each on its thread, until all N are indexed.

The store group (OccurrenceConsumer + BatchWriter: enrichment, Postgres with the dashboard
rollups, the index feed) reads the collected events; the index group (IndexConsumer +
IndexWriter) reads the feed into Elasticsearch, as core_service runs them with Elasticsearch
configured. Both are Pulse's own; the only additions are thin timing wrappers around the bus
consumers, the service and the feed, so the report can say where the time goes. The figure is
end to end: from the store group's first message to the index group's commit of the last one.
"""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, text

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.factory import elasticsearch_client
from analytics_index.feed import IndexFeed
from analytics_index.ports import AnalyticsIndex
from benchmarks.common.scratch import Scratch
from benchmarks.pipeline.baselines import create_indices, es_count
from common_messaging import (
    EVENTS_ENRICHED,
    EVENTS_RAW,
    EventConsumer,
    EventOccurred,
    ReceivedMessage,
)
from common_messaging.bus import open_consumer, open_publisher
from core_service.consumer.loop import IndexConsumer, OccurrenceConsumer
from core_service.consumer.writers import BatchWriter, IndexWriter
from core_service.domain.occurrences import OccurrenceRepository, OccurrenceStore, StoreResult
from core_service.settings import CoreSettings
from core_service.wiring import occurrence_service
from datastore.engine import make_engine
from rollups.writer import record_occurrences
from servicekit.database import Database


class ConsumerError(RuntimeError):
    """The consumer did not store and index exactly the N events, once each."""


@dataclass
class Phases:
    poll: float = 0.0
    commit: float = 0.0
    write: float = 0.0  # BatchWriter: enrichment + Postgres unit of work (rollups too) + the feed
    postgres: float = 0.0  # EventOccurrenceService.store: enrichment and its statements
    feed: float = 0.0  # the enriched batch produced to the feed topic (one flush)
    steps: float = 0.0  # whole steps, from the first non-empty one
    index_poll: float = 0.0
    index_bulk: float = 0.0
    index_commit: float = 0.0
    index_steps: float = 0.0

    def split(self) -> dict[str, float]:
        """Seconds per phase; decode is what the step spent outside the others."""
        return {
            "store group, busy": self.steps,
            "  poll (librdkafka consume)": self.poll,
            "  decode (envelope -> EventOccurred)": self.steps
            - self.poll
            - self.write
            - self.commit,
            "  enrich + Postgres statements": self.postgres,
            "  rollups + Postgres commit": self.write - self.postgres - self.feed,
            "  feed produce (one flush per batch)": self.feed,
            "  offset commit": self.commit,
            "index group, busy": self.index_steps,
            "  poll (the feed topic)": self.index_poll,
            "  Elasticsearch _bulk (pre-serialised)": self.index_bulk,
            "  offset commit (index group)": self.index_commit,
        }


@dataclass
class ConsumerResult:
    events: int
    seconds: float
    join_seconds: float
    phases: Phases = field(default_factory=Phases)
    store_seconds: float = 0.0  # the store group alone, first message to last commit

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class _TimedBus:
    def __init__(self, inner: EventConsumer, add: Callable[[str, float], None], tag: str) -> None:
        self._inner, self._add, self._tag = inner, add, tag

    def poll(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        t = time.perf_counter()
        try:
            return self._inner.poll(max_messages, timeout_s)
        finally:
            self._add(f"{self._tag}poll", time.perf_counter() - t)

    def commit(self, messages: Sequence[ReceivedMessage]) -> None:
        t = time.perf_counter()
        try:
            self._inner.commit(messages)
        finally:
            self._add(f"{self._tag}commit", time.perf_counter() - t)

    def rewind_to_committed(self) -> None:
        self._inner.rewind_to_committed()

    def close(self) -> None:
        self._inner.close()


class _TimedFeed:
    def __init__(self, inner: AnalyticsIndex, phases: Phases) -> None:
        self._inner, self._phases = inner, phases

    def index(self, events: Sequence[EventOccurred]) -> None:
        t = time.perf_counter()
        try:
            self._inner.index(events)
        finally:
            self._phases.feed += time.perf_counter() - t

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self._inner.remove(events)

    def ping(self) -> None:
        self._inner.ping()


class _TimedService:
    def __init__(self, inner: OccurrenceStore, phases: Phases) -> None:
        self._inner = inner
        self._phases = phases

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        t = time.perf_counter()
        try:
            return self._inner.store(events, repo)
        finally:
            self._phases.postgres += time.perf_counter() - t


def _timed(phases: Phases, name: str, call: Callable[..., None]) -> Callable[..., None]:
    def run(*args: object) -> None:
        t = time.perf_counter()
        try:
            call(*args)
        finally:
            setattr(phases, name, getattr(phases, name) + time.perf_counter() - t)

    return run


@dataclass
class _Drive:
    """Step one loop until it committed n messages (or the deadline); times its steps."""

    step: Callable[[], int]
    n: int
    deadline: float
    first: float | None = None
    ended: float = 0.0
    committed: int = 0
    busy: float = 0.0
    error: BaseException | None = None

    def __call__(self) -> None:
        try:
            while self.committed < self.n and time.monotonic() < self.deadline:
                t = time.perf_counter()
                got = self.step()
                if got and self.first is None:
                    self.first = t
                if self.first is not None:
                    self.busy += time.perf_counter() - t
                self.committed += got
            self.ended = time.perf_counter()
        except BaseException as exc:  # reported by the caller
            self.error = exc


def run_consumer(
    s: Scratch,
    events: list[EventOccurred],
    messages: int,
    *,
    batch_size: int = 500,
    timeout_s: float = 300,
) -> ConsumerResult:
    """Consume the topic (`messages` carrying the events) with fresh groups until all events
    are indexed, then verify."""
    n = len(events)
    phases = Phases()

    def add(name: str, seconds: float) -> None:
        setattr(phases, name, getattr(phases, name) + seconds)

    database = Database(make_engine(s.database_url))
    es = elasticsearch_client(s.engines.elasticsearch)
    adapter = ElasticsearchAnalyticsIndex(es, s.es_prefix)
    adapter.ensure_template()
    names = create_indices(es, s.es_prefix, events)  # steady state: the month's index exists
    bus = s.bus()
    publisher = open_publisher(bus)
    service = _TimedService(occurrence_service(CoreSettings()), phases)
    # As `pulse worker` wires it on the full stack: the dashboard rollups in the store batch.
    writer = BatchWriter(
        database,
        _TimedFeed(IndexFeed(publisher, s.es_prefix), phases),
        service,
        rollups=record_occurrences,
    )
    raw = open_consumer(bus, s.consumer_group, [EVENTS_RAW])
    store = OccurrenceConsumer(
        _TimedBus(raw, add, ""),
        publisher,
        _timed(phases, "write", writer),
        writer.healthy,
        batch_size=batch_size,
        poll_timeout_s=0.5,
    )
    indexer = IndexWriter(adapter)
    enriched = open_consumer(bus, s.consumer_group + "-index", [EVENTS_ENRICHED])
    index = IndexConsumer(
        _TimedBus(enriched, add, "index_"),
        publisher,
        _timed(phases, "index_bulk", indexer),
        indexer.healthy,
        batch_size=2000,
        poll_timeout_s=0.2,
    )
    deadline = time.monotonic() + timeout_s
    started = time.perf_counter()
    # The store group commits the topic's messages; the index group one message a document.
    drives = [_Drive(store.step, messages, deadline), _Drive(index.step, n, deadline)]
    threads = [threading.Thread(target=d, name=f"bench-{i}") for i, d in enumerate(drives)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout_s + 30)
    finally:
        raw.close()
        enriched.close()
        publisher.close()
    for drive in drives:
        if drive.error is not None:
            raise ConsumerError(f"a consumer loop failed: {drive.error!r}") from drive.error
    first = drives[0].first
    if first is None or any(d.committed != d.n for d in drives):
        raise ConsumerError(
            f"committed {drives[0].committed} of {messages} messages (store) and "
            f"{drives[1].committed} of {n} (index) within {timeout_s:.0f} s"
        )
    phases.steps, phases.index_steps = drives[0].busy, drives[1].busy
    try:
        _verify(s.database_url, es, names, n)
    finally:
        es.close()
        database.dispose()
    # The time before the first message is the group join and the partition assignment.
    return ConsumerResult(
        n, drives[1].ended - first, first - started, phases, drives[0].ended - first
    )


def _verify(database_url: str, es: Elasticsearch, names: list[str], n: int) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT event_id) FROM event_occurrences")
        ).one()
        seen = conn.execute(text("SELECT coalesce(sum(event_count), 0) FROM user_summaries"))
        summed = seen.scalar_one()
    engine.dispose()
    indexed = es_count(es, names)
    if (rows, distinct, summed, indexed) != (n, n, n, n):
        raise ConsumerError(
            f"expected {n} everywhere: postgres rows={rows} distinct={distinct} "
            f"summaries={summed}; elasticsearch docs={indexed}"
        )
