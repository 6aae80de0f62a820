"""The real occurrence consumer, driven step by step in this process until all N are committed.

The consumer, the BatchWriter, the repository and the Elasticsearch adapter are Pulse's own; the
only additions are thin timing wrappers around the bus consumer, the service and the index, so the
report can say where the time goes (poll, decode, Postgres, Elasticsearch bulk, commit). As in
core_service with Elasticsearch, the writer runs the bulk alongside the Postgres unit of work, so
those two phases overlap: the report gives their wall time together and each one's own time.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, text

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.factory import elasticsearch_client
from analytics_index.ports import AnalyticsIndex
from benchmarks.common.scratch import Scratch
from benchmarks.pipeline.baselines import create_indices, es_count
from common_messaging import EVENTS_RAW, EventConsumer, EventOccurred, ReceivedMessage
from common_messaging.bus import open_consumer, open_publisher
from core_service.consumer.loop import OccurrenceConsumer
from core_service.consumer.writers import BatchWriter
from core_service.domain.occurrences import (
    EventOccurrenceService,
    OccurrenceRepository,
    StoreResult,
)
from datastore.engine import make_engine
from servicekit.database import Database


class ConsumerError(RuntimeError):
    """The consumer did not store exactly the N events, once each."""


@dataclass
class Phases:
    poll: float = 0.0
    commit: float = 0.0
    write: float = 0.0  # BatchWriter: Postgres unit of work and index, concurrently
    postgres: float = 0.0  # EventOccurrenceService.store, its statements (not the commit)
    index: float = 0.0  # Elasticsearch, on the writer's index thread
    steps: float = 0.0  # whole steps, from the first non-empty one

    def split(self) -> dict[str, float]:
        """Seconds per phase; decode is what the step spent outside the others."""
        return {
            "poll (librdkafka consume)": self.poll,
            "decode (envelope -> EventOccurred)": self.steps - self.poll - self.write - self.commit,
            "Postgres + Elasticsearch, concurrently": self.write,
            "  Postgres statements alone (overlapping)": self.postgres,
            "  Elasticsearch bulk alone (overlapping)": self.index,
            "offset commit": self.commit,
        }


@dataclass
class ConsumerResult:
    events: int
    seconds: float
    join_seconds: float
    phases: Phases = field(default_factory=Phases)

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class _TimedBus:
    def __init__(self, inner: EventConsumer, phases: Phases) -> None:
        self._inner, self._phases = inner, phases

    def poll(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        t = time.perf_counter()
        try:
            return self._inner.poll(max_messages, timeout_s)
        finally:
            self._phases.poll += time.perf_counter() - t

    def commit(self, messages: Sequence[ReceivedMessage]) -> None:
        t = time.perf_counter()
        try:
            self._inner.commit(messages)
        finally:
            self._phases.commit += time.perf_counter() - t

    def rewind_to_committed(self) -> None:
        self._inner.rewind_to_committed()

    def close(self) -> None:
        self._inner.close()


class _TimedIndex:
    def __init__(self, inner: AnalyticsIndex, phases: Phases) -> None:
        self._inner, self._phases = inner, phases

    def index(self, events: Sequence[EventOccurred]) -> None:
        t = time.perf_counter()
        try:
            self._inner.index(events)
        finally:
            self._phases.index += time.perf_counter() - t

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self._inner.remove(events)

    def ping(self) -> None:
        self._inner.ping()


class _TimedService:
    def __init__(self, phases: Phases) -> None:
        self._inner = EventOccurrenceService()
        self._phases = phases

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        t = time.perf_counter()
        try:
            return self._inner.store(events, repo)
        finally:
            self._phases.postgres += time.perf_counter() - t


class _WriterTimer:
    def __init__(self, writer: BatchWriter, phases: Phases) -> None:
        self._writer, self._phases = writer, phases

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        t = time.perf_counter()
        try:
            self._writer(events)
        finally:
            self._phases.write += time.perf_counter() - t


def run_consumer(
    s: Scratch, events: list[EventOccurred], *, batch_size: int = 500, timeout_s: float = 300
) -> ConsumerResult:
    """Consume the topic with a fresh group until all events are committed, then verify."""
    n = len(events)
    phases = Phases()
    database = Database(make_engine(s.database_url))
    es = elasticsearch_client(s.engines.elasticsearch)
    adapter = ElasticsearchAnalyticsIndex(es, s.es_prefix)
    adapter.ensure_template()
    names = create_indices(es, s.es_prefix, events)  # steady state: the month's index exists
    writer = BatchWriter(
        database, _TimedIndex(adapter, phases), _TimedService(phases), concurrent_index=True
    )
    bus = s.bus()
    dead_letters = open_publisher(bus)
    raw = open_consumer(bus, s.consumer_group, [EVENTS_RAW])
    consumer = OccurrenceConsumer(
        _TimedBus(raw, phases),
        dead_letters,
        _WriterTimer(writer, phases),
        writer.healthy,
        batch_size=batch_size,
        poll_timeout_s=0.5,
    )
    committed, started = 0, time.perf_counter()
    first: float | None = None
    deadline = time.monotonic() + timeout_s
    try:
        for _ in range(100_000):
            if committed >= n or time.monotonic() > deadline:
                break
            t, polled_before = time.perf_counter(), phases.poll
            got = consumer.step()
            if got and first is None:
                first = t
                phases.poll -= polled_before  # earlier polls only waited for the group join
            if first is not None:
                phases.steps += time.perf_counter() - t
            committed += got
        ended = time.perf_counter()
    finally:
        raw.close()
        dead_letters.close()
    if first is None or committed != n:
        raise ConsumerError(f"consumer committed {committed} of {n} within {timeout_s:.0f} s")
    try:
        _verify(s.database_url, es, names, n)
    finally:
        es.close()
        database.dispose()
    # The time before the first message is the group join and the partition assignment.
    return ConsumerResult(n, ended - first, first - started, phases)


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
