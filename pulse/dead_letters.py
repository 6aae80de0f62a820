"""`pulse dlq list|replay`: what the consumers set aside, and sending it back once fixed.

A dead-lettered message keeps its original bytes, key and the error, source topic, partition
and offset in its headers. `list` reads a dead-letter topic from the start in a throwaway
consumer group (it moves nothing). `replay` re-publishes each message to its source topic in a
group of its own that commits as it goes, so a message is replayed once; the consumers absorb a
replay by event id (or entry id), so replaying one that was in fact stored changes nothing.
"""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from common_messaging import (
    ENTRIES_DLQ,
    ENTRIES_REQUESTED,
    EVENTS_DLQ,
    EVENTS_ENRICHED,
    EVENTS_ENRICHED_DLQ,
    EVENTS_RAW,
    OutgoingMessage,
    ReceivedMessage,
)
from common_messaging.bus import BusSettings, open_consumer, open_publisher

# Each dead-letter topic, and where its messages came from (a header says so too).
DEAD_LETTER_TOPICS = {
    EVENTS_DLQ: EVENTS_RAW,
    ENTRIES_DLQ: ENTRIES_REQUESTED,
    EVENTS_ENRICHED_DLQ: EVENTS_ENRICHED,
}
REPLAY_GROUP = "pulse-dlq-replay"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    source_topic: str
    error: str
    message_id: str | None
    size: int

    def line(self) -> str:
        return json.dumps(
            {
                "dlq": f"{self.topic}/{self.partition}/{self.offset}",
                "source": self.source_topic,
                "id": self.message_id,
                "bytes": self.size,
                "error": self.error,
            }
        )


def read_all(
    bus: BusSettings, topic: str, group: str, wait_s: float
) -> Iterator[list[ReceivedMessage]]:
    """Batches of `topic` from the group's position until it runs dry (or `wait_s` passes with
    nothing, which covers a Kafka group join)."""
    consumer = open_consumer(bus, group, [topic])
    try:
        deadline = time.monotonic() + wait_s
        seen_any = False
        while time.monotonic() < deadline:
            batch = consumer.poll(500, 1.0)
            if batch:
                seen_any = True
                yield batch
                consumer.commit(batch)
            elif seen_any:
                return
    finally:
        consumer.close()


def list_dead_letters(bus: BusSettings, topic: str, wait_s: float = 10.0) -> list[DeadLetter]:
    found: list[DeadLetter] = []
    # A group of its own each time: listing never moves the replay group's position.
    for batch in read_all(bus, topic, f"pulse-dlq-list-{uuid.uuid4().hex[:8]}", wait_s):
        found.extend(_described(m) for m in batch)
    return found


def replay(bus: BusSettings, topic: str, wait_s: float = 10.0) -> int:
    """Re-publish what `topic` holds (since the last replay) to its source topics."""
    publisher = open_publisher(bus)
    replayed = 0
    try:
        for batch in read_all(bus, topic, REPLAY_GROUP, wait_s):
            by_source: dict[str, list[OutgoingMessage]] = {}
            for message in batch:
                source = message.headers.get("source_topic") or DEAD_LETTER_TOPICS[topic]
                by_source.setdefault(source, []).append(
                    OutgoingMessage(value=message.value, key=message.key)
                )
            for source, messages in by_source.items():
                publisher.publish_sync(source, messages)  # before the commit: never lost
            replayed += len(batch)
    finally:
        publisher.close()
    return replayed


def _described(message: ReceivedMessage) -> DeadLetter:
    try:
        message_id = str(json.loads(message.value).get("message_id"))
    except (ValueError, AttributeError):
        message_id = None  # undecodable: the reason it is here
    return DeadLetter(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        source_topic=message.headers.get("source_topic", DEAD_LETTER_TOPICS.get(message.topic, "")),
        error=message.headers.get("error", ""),
        message_id=message_id,
        size=len(message.value),
    )
