"""BatchWriter with the index written alongside Postgres: offsets move only when both stores
have the batch, and a failing store never leaves the other's write in flight."""

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from common_messaging import EVENTS_DLQ, EVENTS_RAW, EventOccurred
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.loop import OccurrenceConsumer
from core_service.consumer.writers import BatchWriter
from core_service.domain.occurrences import (
    EventOccurrenceService,
    OccurrenceRepository,
    StoreResult,
)
from datastore.schema import EventOccurrence
from servicekit.database import Database
from tests.support.factories import message, occurrence, seed_site


class FakeIndex:
    """Records what it indexed and on which thread; `release` holds a bulk until set."""

    def __init__(self) -> None:
        self.indexed: list[EventOccurred] = []
        self.threads: set[str] = set()
        self.down = False
        self.release = threading.Event()
        self.release.set()

    def index(self, events: Sequence[EventOccurred]) -> None:
        self.threads.add(threading.current_thread().name)
        self.release.wait(5)
        if self.down:
            raise ConnectionError("elasticsearch is down")
        self.indexed.extend(e for e in events if e not in self.indexed)

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self.indexed = [e for e in self.indexed if e not in events]

    def ping(self) -> None:
        if self.down:
            raise ConnectionError("elasticsearch is down")


class PoisonService:
    """Postgres refuses any batch holding `poison` (as it would a value it cannot store)."""

    def __init__(self, poison: EventOccurred) -> None:
        self.poison = poison
        self.inner = EventOccurrenceService()

    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        if self.poison in events:
            raise ValueError("value too long for type character varying(128)")
        return self.inner.store(events, repo)


class FailingService:
    def store(self, events: Sequence[EventOccurred], repo: OccurrenceRepository) -> StoreResult:
        raise ConnectionError("postgres is down")


def _stored(database: Database) -> int:
    with database.reader() as session:
        return int(session.scalar(select(func.count()).select_from(EventOccurrence)) or 0)


def _events(database: Database, n: int = 3) -> list[EventOccurred]:
    with database.unit_of_work() as session:
        site_id = seed_site(session).id
    return [occurrence(site_id=site_id) for _ in range(n)]


def test_both_stores_get_the_batch_and_the_index_runs_on_its_own_thread(
    database: Database,
) -> None:
    index = FakeIndex()
    writer = BatchWriter(database, index, EventOccurrenceService(), concurrent_index=True)
    events = _events(database)
    writer(events)
    assert _stored(database) == 3
    assert index.indexed == events
    assert index.threads != {threading.current_thread().name}


def test_an_index_failure_fails_the_batch_after_postgres_has_it(database: Database) -> None:
    index = FakeIndex()
    index.down = True
    writer = BatchWriter(database, index, EventOccurrenceService(), concurrent_index=True)
    events = _events(database)
    with pytest.raises(ConnectionError, match="elasticsearch"):
        writer(events)
    # Postgres committed; the retry of the batch is a no-op there (ON CONFLICT on event id).
    assert _stored(database) == 3
    index.down = False
    writer(events)
    assert _stored(database) == 3 and index.indexed == events


def test_a_postgres_failure_waits_for_the_bulk_in_flight(database: Database) -> None:
    index = FakeIndex()
    index.release.clear()
    writer = BatchWriter(database, index, FailingService(), concurrent_index=True)
    events = _events(database)
    threading.Timer(0.2, index.release.set).start()
    with pytest.raises(ConnectionError, match="postgres"):
        writer(events)
    # The call returned only once the index had finished (nothing runs on behind a retry),
    # and took the batch out of the index again: the index holds nothing Postgres lacks.
    assert index.threads and index.indexed == []


def test_an_event_postgres_refuses_is_dead_lettered_and_not_left_in_the_index(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bus.sqlite3"
    index = FakeIndex()
    events = _events(database, 3)
    writer = BatchWriter(database, index, PoisonService(events[1]), concurrent_index=True)
    publisher = SqliteLogPublisher(path)
    consumer = OccurrenceConsumer(
        SqliteLogConsumer(path, "core", [EVENTS_RAW]),
        publisher,
        writer,
        lambda: True,  # both stores are up: the refusal is the event's own fault
        poll_timeout_s=0.05,
        sleep=lambda _s: None,
    )
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    assert consumer.step() == 3
    assert _stored(database) == 2
    assert sorted(e.event_id for e in index.indexed) == sorted(
        e.event_id for e in (events[0], events[2])
    )
    dead = SqliteLogConsumer(path, "dlq-reader", [EVENTS_DLQ]).poll(10, 0.05)
    assert len(dead) == 1


@pytest.mark.parametrize("failing", ["index", "postgres"])
def test_offsets_are_not_committed_when_either_store_fails(
    database: Database, tmp_path: Path, failing: str
) -> None:
    path = tmp_path / "bus.sqlite3"
    index = FakeIndex()
    index.down = failing == "index"
    service = FailingService() if failing == "postgres" else EventOccurrenceService()
    writer = BatchWriter(database, index, service, concurrent_index=True)
    publisher = SqliteLogPublisher(path)
    consumer = OccurrenceConsumer(
        SqliteLogConsumer(path, "core", [EVENTS_RAW]),
        publisher,
        writer,
        lambda: False,  # the failing store is down: rewind and retry, never dead-letter
        poll_timeout_s=0.05,
        sleep=lambda _s: None,
    )
    events = _events(database, 2)
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    assert consumer.step() == 0
    # Not committed: a fresh consumer of the same group still gets both messages.
    assert len(SqliteLogConsumer(path, "core", [EVENTS_RAW]).poll(10, 0.05)) == 2
