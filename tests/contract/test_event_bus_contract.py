"""One contract for every EventPublisher/EventConsumer pair: the embedded log and Kafka."""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from common_messaging import EventConsumer, EventPublisher, OutgoingMessage, ReceivedMessage
from common_messaging.bus.kafka import KafkaEventConsumer, KafkaPublisher
from common_messaging.bus.kafka_admin import ensure_topics
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from tests.engines import engine_url


@dataclass
class Bus:
    make_publisher: Callable[[], EventPublisher]
    make_consumer: Callable[[str, Sequence[str]], EventConsumer]
    create_topics: Callable[[Sequence[str]], None]
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    opened: list[EventPublisher | EventConsumer] = field(default_factory=list)

    def topics(self, *names: str) -> list[str]:
        real = [f"{name}-{self.suffix}" for name in names]
        self.create_topics(real)
        return real

    def publisher(self) -> EventPublisher:
        self.opened.append(p := self.make_publisher())
        return p

    def consumer(self, group: str, topics: Sequence[str]) -> EventConsumer:
        self.opened.append(c := self.make_consumer(f"{group}-{self.suffix}", topics))
        return c


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.integration)])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    if request.param == "embedded":
        path = tmp_path / "bus.sqlite3"
        bus = Bus(
            lambda: SqliteLogPublisher(path),
            lambda group, topics: SqliteLogConsumer(path, group, topics),
            lambda topics: None,
        )
    else:
        servers = engine_url("kafka")

        def create(topics: Sequence[str]) -> None:
            ensure_topics(
                servers, dict.fromkeys(topics, 3_600_000), partitions=1, replication_factor=1
            )

        bus = Bus(
            lambda: KafkaPublisher(servers, "contract-test"),
            lambda group, topics: KafkaEventConsumer(servers, group, topics),
            create,
        )
    yield bus
    for resource in reversed(bus.opened):
        resource.close()


def poll_until(consumer: EventConsumer, count: int, timeout_s: float = 20) -> list[ReceivedMessage]:
    """Poll until `count` messages arrived (Kafka needs a moment to join the group)."""
    received: list[ReceivedMessage] = []
    deadline = time.monotonic() + timeout_s
    while len(received) < count and time.monotonic() < deadline:
        received += consumer.poll(count - len(received), 0.5)
    return received


def values(messages: Sequence[ReceivedMessage]) -> list[bytes]:
    return [m.value for m in messages]


def test_bus_delivers_messages_in_order_with_keys_and_headers(bus: Bus) -> None:
    [topic] = bus.topics("order")
    bus.publisher().publish_sync(
        topic, [OutgoingMessage(b"1", b"k", {"h": "v"}), OutgoingMessage(b"2", b"k")]
    )
    messages = poll_until(bus.consumer("g", [topic]), 2)
    assert values(messages) == [b"1", b"2"]
    assert messages[0].key == b"k" and messages[0].headers == {"h": "v"}
    assert messages[0].offset < messages[1].offset


def test_bus_resumes_from_committed_offset_after_restart(bus: Bus) -> None:
    [topic] = bus.topics("resume")
    bus.publisher().publish_sync(topic, [OutgoingMessage(v, b"k") for v in (b"a", b"b", b"c")])
    first = bus.consumer("g", [topic])
    batch = poll_until(first, 3)
    first.commit(batch[:2])
    first.close()
    bus.opened.remove(first)
    assert values(poll_until(bus.consumer("g", [topic]), 1)) == [b"c"]


def test_bus_redelivers_uncommitted_messages_after_rewind(bus: Bus) -> None:
    [topic] = bus.topics("rewind")
    bus.publisher().publish_sync(topic, [OutgoingMessage(b"a", b"k"), OutgoingMessage(b"b", b"k")])
    consumer = bus.consumer("g", [topic])
    assert values(poll_until(consumer, 2)) == [b"a", b"b"]
    assert consumer.poll(10, 0.5) == []
    consumer.rewind_to_committed()
    assert values(poll_until(consumer, 2)) == [b"a", b"b"]


def test_bus_groups_and_topics_are_independent(bus: Bus) -> None:
    t1, t2 = bus.topics("one", "two")
    publisher = bus.publisher()
    publisher.publish_sync(t1, [OutgoingMessage(b"x")])
    publisher.publish_sync(t2, [OutgoingMessage(b"y")])
    first = bus.consumer("g1", [t1])
    first.commit(poll_until(first, 1))
    first.close()
    bus.opened.remove(first)
    assert values(poll_until(bus.consumer("g2", [t1]), 1)) == [b"x"]
    assert values(poll_until(bus.consumer("g1", [t1, t2]), 1)) == [b"y"]


def test_bus_async_publish_is_durable_before_returning(bus: Bus) -> None:
    [topic] = bus.topics("async")
    asyncio.run(bus.publisher().publish(topic, [OutgoingMessage(b"z")]))
    assert values(poll_until(bus.consumer("g", [topic]), 1)) == [b"z"]


def test_bus_hands_over_a_partial_batch_without_waiting_out_the_timeout(bus: Bus) -> None:
    """A consumer ahead of the traffic stores what came at once: a batch it cannot fill must
    not wait for the whole poll timeout (librdkafka's own batch consume would)."""
    (topic,) = bus.topics("partial")
    publisher, consumer = bus.publisher(), bus.consumer("partial", [topic])
    publisher.publish_sync(topic, [OutgoingMessage(b"first")])
    assert values(poll_until(consumer, 1)) == [b"first"]  # joined the group
    publisher.publish_sync(topic, [OutgoingMessage(b"a"), OutgoingMessage(b"b")])
    started = time.monotonic()
    received = consumer.poll(500, 10.0)
    assert received and time.monotonic() - started < 5.0
    assert values(received + poll_until(consumer, 2 - len(received), 5)) == [b"a", b"b"]
