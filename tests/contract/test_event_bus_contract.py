"""One contract for every EventPublisher/EventConsumer pair; the Kafka adapter joins the list."""

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from common_messaging import EventConsumer, EventPublisher, OutgoingMessage
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher

BusFactory = tuple[Callable[[], EventPublisher], Callable[[str, Sequence[str]], EventConsumer]]


@pytest.fixture(params=["embedded"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> BusFactory:
    path = tmp_path / "bus.sqlite3"
    return (
        lambda: SqliteLogPublisher(path),
        lambda group, topics: SqliteLogConsumer(path, group, topics),
    )


def _values(consumer: EventConsumer, n: int = 100) -> list[bytes]:
    return [m.value for m in consumer.poll(n, 0.2)]


def test_bus_delivers_messages_in_order_with_keys_and_headers(bus: BusFactory) -> None:
    publisher_factory, consumer_factory = bus
    publisher = publisher_factory()
    publisher.publish_sync(
        "t", [OutgoingMessage(b"1", b"k", {"h": "v"}), OutgoingMessage(b"2", b"k")]
    )
    consumer = consumer_factory("g", ["t"])
    messages = consumer.poll(10, 0.2)
    assert [m.value for m in messages] == [b"1", b"2"]
    assert messages[0].key == b"k" and messages[0].headers == {"h": "v"}
    assert messages[0].offset < messages[1].offset


def test_bus_resumes_from_committed_offset_after_restart(bus: BusFactory) -> None:
    publisher_factory, consumer_factory = bus
    publisher = publisher_factory()
    publisher.publish_sync("t", [OutgoingMessage(v) for v in (b"a", b"b", b"c")])
    first = consumer_factory("g", ["t"])
    batch = first.poll(2, 0.2)
    first.commit(batch)
    first.close()
    second = consumer_factory("g", ["t"])
    assert _values(second) == [b"c"]


def test_bus_redelivers_uncommitted_messages_at_least_once(bus: BusFactory) -> None:
    publisher_factory, consumer_factory = bus
    publisher_factory().publish_sync("t", [OutgoingMessage(b"a"), OutgoingMessage(b"b")])
    consumer = consumer_factory("g", ["t"])
    assert _values(consumer) == [b"a", b"b"]
    assert _values(consumer) == []
    consumer.rewind_to_committed()
    assert _values(consumer) == [b"a", b"b"]


def test_bus_groups_and_topics_are_independent(bus: BusFactory) -> None:
    publisher_factory, consumer_factory = bus
    publisher = publisher_factory()
    publisher.publish_sync("t1", [OutgoingMessage(b"x")])
    publisher.publish_sync("t2", [OutgoingMessage(b"y")])
    one = consumer_factory("g1", ["t1"])
    one.commit(one.poll(10, 0.2))
    assert _values(consumer_factory("g2", ["t1"])) == [b"x"]
    assert _values(consumer_factory("g1", ["t1", "t2"])) == [b"y"]


def test_bus_async_publish_is_durable_before_returning(bus: BusFactory) -> None:
    publisher_factory, consumer_factory = bus
    asyncio.run(publisher_factory().publish("t", [OutgoingMessage(b"z")]))
    assert _values(consumer_factory("g", ["t"])) == [b"z"]
