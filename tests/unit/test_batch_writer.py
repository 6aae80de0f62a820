"""The store group and the index group: Postgres gets each batch whatever the index does, the
index gets it afterwards through the feed, and an index outage loses and doubles nothing."""

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from analytics_index.feed import IndexFeed
from analytics_index.user_agent import parse_user_agent
from common_messaging import (
    EVENTS_DLQ,
    EVENTS_ENRICHED,
    EVENTS_ENRICHED_DLQ,
    EVENTS_RAW,
    EventOccurred,
)
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.loop import IndexConsumer, OccurrenceConsumer
from core_service.consumer.writers import BatchWriter, IndexWriter
from core_service.domain.enrichment import Enricher
from core_service.domain.occurrences import (
    EventOccurrenceService,
    OccurrenceRepository,
    StoreResult,
)
from datastore.schema import EventOccurrence
from servicekit.database import Database
from tests.support.factories import message, occurrence, seed_site


class FakeIndex:
    """The index as an AnalyticsIndex (the embedded SQL one's place)."""

    def __init__(self) -> None:
        self.indexed: list[EventOccurred] = []
        self.down = False

    def index(self, events: Sequence[EventOccurred]) -> None:
        if self.down:
            raise ConnectionError("index is down")
        self.indexed.extend(e for e in events if e not in self.indexed)

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self.indexed = [e for e in self.indexed if e not in events]

    def ping(self) -> None:
        if self.down:
            raise ConnectionError("index is down")


class FakeElasticsearch:
    """Applies `_bulk` lines as Elasticsearch would: one document per `_id`, a create of an
    existing id is a 409 (a replay, fine). `down`: the cluster does not answer."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, object]] = {}
        self.creates = 0
        self.down = True

    def apply_bulk_lines(self, lines: Sequence[bytes]) -> None:
        if self.down:
            raise ConnectionError("elasticsearch is down")
        for value in lines:
            action, source = value.splitlines()
            target = json.loads(action)["create"]
            self.creates += 1
            self.documents.setdefault(target["_id"], json.loads(source))

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


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def _events(database: Database, n: int = 3, **fields: object) -> list[EventOccurred]:
    with database.unit_of_work() as session:
        site_id = seed_site(session).id
    return [occurrence(site_id=site_id, anonymous_id=f"v{i}", **fields) for i in range(n)]


def _collected(database: Database, n: int) -> list[EventOccurred]:
    """As the edge publishes them: the user agent string, the device not parsed yet."""
    return _events(database, n, enriched=False, user_agent=IPHONE)


def _loop(path: Path, writer: BatchWriter, healthy: bool) -> OccurrenceConsumer:
    return OccurrenceConsumer(
        SqliteLogConsumer(path, "core", [EVENTS_RAW]),
        SqliteLogPublisher(path),
        writer,
        lambda: healthy,
        poll_timeout_s=0.05,
        sleep=lambda _s: None,
    )


def test_an_index_failure_fails_the_batch_after_postgres_has_it(database: Database) -> None:
    index = FakeIndex()
    index.down = True
    writer = BatchWriter(database, index, EventOccurrenceService())
    events = _events(database)
    with pytest.raises(ConnectionError, match="index"):
        writer(events)
    # Postgres committed; the retry of the batch is a no-op there (ON CONFLICT on event id)
    # and hands the whole batch to the index again.
    assert _stored(database) == 3
    index.down = False
    writer(events)
    assert _stored(database) == 3 and index.indexed == events


def test_an_event_postgres_refuses_is_dead_lettered_and_never_indexed(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bus.sqlite3"
    index = FakeIndex()
    events = _events(database, 3)
    consumer = _loop(path, BatchWriter(database, index, PoisonService(events[1])), healthy=True)
    SqliteLogPublisher(path).publish_sync(EVENTS_RAW, [message(e) for e in events])
    assert consumer.step() == 3
    assert _stored(database) == 2
    assert {e.event_id for e in index.indexed} == {events[0].event_id, events[2].event_id}
    assert len(SqliteLogConsumer(path, "dlq-reader", [EVENTS_DLQ]).poll(10, 0.05)) == 1


@pytest.mark.parametrize("failing", ["index", "postgres"])
def test_offsets_are_not_committed_when_either_store_fails(
    database: Database, tmp_path: Path, failing: str
) -> None:
    path = tmp_path / "bus.sqlite3"
    index = FakeIndex()
    index.down = failing == "index"
    service = FailingService() if failing == "postgres" else EventOccurrenceService()
    # The failing store is down: rewind and retry, never dead-letter.
    consumer = _loop(path, BatchWriter(database, index, service), healthy=False)
    SqliteLogPublisher(path).publish_sync(EVENTS_RAW, [message(e) for e in _events(database, 2)])
    assert consumer.step() == 0
    # Not committed: a fresh consumer of the same group still gets both messages.
    assert len(SqliteLogConsumer(path, "core", [EVENTS_RAW]).poll(10, 0.05)) == 2


def test_an_elasticsearch_outage_stops_only_the_index_group_which_catches_up_once(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bus.sqlite3"
    publisher = SqliteLogPublisher(path)
    service = EventOccurrenceService(enricher=Enricher(parse_user_agent))
    store = _loop(path, BatchWriter(database, IndexFeed(publisher), service), healthy=True)
    elasticsearch = FakeElasticsearch()  # down
    index_writer = IndexWriter(elasticsearch)
    indexer = IndexConsumer(
        SqliteLogConsumer(path, "core-index", [EVENTS_ENRICHED]),
        publisher,
        index_writer,
        index_writer.healthy,
        poll_timeout_s=0.05,
        sleep=lambda _s: None,
    )
    first, second = _collected(database, 3), _collected(database, 2)
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in first])
    assert store.step() == 3
    # The index group cannot write: it retries, commits nothing and dead-letters nothing...
    assert indexer.step() == 0 and indexer.step() == 0
    # ...while the store group goes on storing.
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in second])
    assert store.step() == 2
    assert _stored(database) == 5
    elasticsearch.down = False
    caught_up = 0
    for _ in range(5):
        caught_up += indexer.step()
    assert caught_up == 5
    wanted = {str(e.event_id) for e in first + second}
    assert set(elasticsearch.documents) == wanted
    # The feed carries what the store path enriched, in the document shape the index maps.
    assert all(doc["device_type"] == "mobile" for doc in elasticsearch.documents.values())
    assert SqliteLogConsumer(path, "dlq-reader", [EVENTS_ENRICHED_DLQ]).poll(10, 0.05) == []
    # A redelivery (the store group's batch replayed after a crash before its commit) indexes
    # nothing twice: the documents are keyed by event id.
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in first])
    assert store.step() == 3 and indexer.step() == 3
    assert set(elasticsearch.documents) == wanted and _stored(database) == 5
