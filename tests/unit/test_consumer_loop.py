"""The consumer loop against an embedded bus and a fake store that can fail on demand."""

from collections.abc import Sequence
from pathlib import Path

from common_messaging import (
    EVENTS_DLQ,
    EVENTS_RAW,
    EventOccurred,
    OutgoingMessage,
    decode_occurrences,
)
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.loop import OccurrenceConsumer
from tests.support.factories import collected_message, message, occurrence


class FakeStore:
    def __init__(self) -> None:
        self.stored: list[EventOccurred] = []
        self.down = False
        self.poison_names: set[str] = set()

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        if self.down:
            raise ConnectionError("database is down")
        if any(e.name in self.poison_names for e in events):
            raise ValueError("value too long for column")
        self.stored.extend(events)

    def healthy(self) -> bool:
        return not self.down


def _loop(path: Path, store: FakeStore) -> tuple[OccurrenceConsumer, SqliteLogPublisher]:
    publisher = SqliteLogPublisher(path)
    consumer = OccurrenceConsumer(
        SqliteLogConsumer(path, "core", [EVENTS_RAW]),
        publisher,
        store,
        store.healthy,
        poll_timeout_s=0.05,
        sleep=lambda _s: None,
    )
    return consumer, publisher


def _dead_letters(path: Path) -> list[tuple[bytes, dict[str, str]]]:
    dlq = SqliteLogConsumer(path, "ops", [EVENTS_DLQ])
    return [(m.value, dict(m.headers)) for m in dlq.poll(100, 0.05)]


def test_consumer_stores_then_commits(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    loop, publisher = _loop(path, store)
    events = [occurrence(), occurrence()]
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    assert loop.step() == 2
    assert store.stored == events
    # Committed: a fresh consumer of the same group sees nothing left.
    assert SqliteLogConsumer(path, "core", [EVENTS_RAW]).poll(10, 0.05) == []


def test_unparseable_message_goes_to_dead_letter_and_loop_continues(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    loop, publisher = _loop(path, store)
    good = occurrence()
    publisher.publish_sync(EVENTS_RAW, [OutgoingMessage(b"{garbage"), message(good)])
    assert loop.step() == 2
    assert store.stored == [good]
    [(value, headers)] = _dead_letters(path)
    assert value == b"{garbage"
    assert headers["error"].startswith("decode_error")
    assert headers["source_topic"] == EVENTS_RAW


def test_message_the_healthy_store_refuses_is_isolated(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    store.poison_names = {"bad"}
    loop, publisher = _loop(path, store)
    bad, good = occurrence(name="bad"), occurrence()
    publisher.publish_sync(EVENTS_RAW, [message(bad), message(good)])
    assert loop.step() == 2
    assert store.stored == [good]
    [(_, headers)] = _dead_letters(path)
    assert headers["error"].startswith("store_error: ValueError")


def test_store_outage_rewinds_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    store.down = True
    loop, publisher = _loop(path, store)
    events = [occurrence(), occurrence()]
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    assert loop.step() == 0
    assert loop.step() == 0
    assert store.stored == [] and _dead_letters(path) == []
    store.down = False
    assert loop.step() == 2
    assert store.stored == events


def test_a_request_s_collected_events_are_stored_with_single_event_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    loop, publisher = _loop(path, store)
    request, alone = [occurrence(), occurrence(), occurrence()], occurrence()
    publisher.publish_sync(EVENTS_RAW, [collected_message(request), message(alone)])
    assert loop.step() == 2  # messages committed
    assert store.stored == [*request, alone]
    assert SqliteLogConsumer(path, "core", [EVENTS_RAW]).poll(10, 0.05) == []


def test_an_event_refused_from_a_collected_message_is_set_aside_alone(tmp_path: Path) -> None:
    """Its companions are stored; the dead-letter topic gets the refused event as a message of
    its own, so a replay brings back that event and nothing the store already took."""
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    store.poison_names = {"bad"}
    loop, publisher = _loop(path, store)
    before, bad, after = occurrence(), occurrence(name="bad"), occurrence()
    publisher.publish_sync(EVENTS_RAW, [collected_message([before, bad, after])])
    assert loop.step() == 1
    assert store.stored == [before, after]
    [(value, headers)] = _dead_letters(path)
    assert decode_occurrences(value) == [bad]
    assert headers["error"].startswith("store_error: ValueError")
    assert headers["source_topic"] == EVENTS_RAW and headers["source_offset"] == "1"
