"""The consumer loop: decode, store durably, index, and only then commit offsets.

A message that cannot be parsed, or whose own data a store refuses (`failures.failure_kind`;
a failing batch is bisected to find it), goes to the dead-letter topic with its error and
original bytes (an event the store refuses from a message of several goes alone, as a message
of its own, so a replay brings back only it); the loop lives on. A transient failure (a store
down, a deadlock, a failover, Elasticsearch back-pressure) rewinds the batch to the committed
offsets and retries it after a backoff: it never dead-letters anything.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import ClassVar, Generic, TypeAlias, TypeVar

from prometheus_client import Counter
from pydantic import BaseModel

from common_messaging import (
    ENTRIES_DLQ,
    EVENTS_DLQ,
    EVENTS_ENRICHED_DLQ,
    EntryRequested,
    EventConsumer,
    EventOccurred,
    EventPublisher,
    MessageDecodeError,
    OutgoingMessage,
    ReceivedMessage,
    decode,
    encode,
)
from common_messaging.collected import decode_occurrences
from core_service import metrics
from core_service.consumer.failures import Kind, failure_kind
from servicekit.tracing import batch_span

log = logging.getLogger(__name__)

MESSAGES = Counter(
    "pulse_consumer_messages_total", "Messages handled by the consumers", ["topic", "outcome"]
)

P = TypeVar("P")

# A decoded payload: its message, itself, and whether it was the message's only payload.
_Payload: TypeAlias = tuple[ReceivedMessage, P, bool]
# What goes to the dead-letter topic: the source message, the bytes set aside, the error.
_SetAside: TypeAlias = tuple[ReceivedMessage, bytes, str]


class BusConsumer(Generic[P]):
    """One loop per topic; subclasses name the payload type and their dead-letter topic."""

    payload_type: ClassVar[type[BaseModel]]
    dead_letter_topic: ClassVar[str]

    def payloads(self, message: ReceivedMessage) -> Sequence[P]:
        """The message's payloads; raises MessageDecodeError for bytes that are not one."""
        decoded: P = decode(message.value, self.payload_type).payload  # type: ignore[assignment]
        return (decoded,)

    def alone(self, payload: P) -> bytes:
        """One payload of a message that carried several, as a message of its own: what goes
        to the dead-letter topic when the store refuses it and not its companions."""
        raise TypeError(f"{type(self).__name__} reads one payload a message")

    def __init__(
        self,
        consumer: EventConsumer,
        dead_letters: EventPublisher,
        process: Callable[[Sequence[P]], None],
        store_healthy: Callable[[], bool],
        *,
        batch_size: int = 500,
        poll_timeout_s: float = 0.5,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        classify: Callable[[BaseException], Kind] = failure_kind,
    ) -> None:
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._process = process
        self._store_healthy = store_healthy
        self._batch_size = batch_size
        self._poll_timeout_s = poll_timeout_s
        self._max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._failure_kind = classify
        self._failures = 0

    def run(self, stop: threading.Event) -> None:
        log.info("consumer_started")
        try:
            while not stop.is_set():
                try:
                    self.step()
                # The loop outlives broker hiccups: the next poll resumes from committed offsets.
                except Exception:
                    log.exception("consumer_step_failed")
                    metrics.kafka_error("consume")
                    self._back_off()
        finally:
            self._consumer.close()
            log.info("consumer_stopped")

    def step(self) -> int:
        """Handle one polled batch; returns how many messages were committed."""
        messages = self._consumer.poll(self._batch_size, self._poll_timeout_s)
        if not messages:
            return 0
        good: list[_Payload[P]] = []
        poisoned: list[_SetAside] = []
        for message in messages:
            try:
                payloads = self.payloads(message)
            except MessageDecodeError as exc:
                poisoned.append((message, message.value, f"decode_error: {exc}"))
                continue
            whole = len(payloads) == 1
            good.extend((message, payload, whole) for payload in payloads)
        with batch_span(messages[0].topic, [m.headers for m in messages]):
            handled = self._handle(good, poisoned)
        if not handled:
            metrics.batch_done(messages[0].topic, "retried")
            self._consumer.rewind_to_committed()
            self._back_off()
            return 0
        try:
            self._consumer.commit(messages)
        except Exception as exc:  # e.g. partitions revoked mid-batch; their new owner replays
            log.warning("consumer_commit_failed error=%s", type(exc).__name__)
            metrics.kafka_error("commit")
            self._consumer.rewind_to_committed()
            return 0
        self._failures = 0
        metrics.batch_done(messages[0].topic, "stored")
        return len(messages)

    def _handle(self, good: list["_Payload[P]"], poisoned: list["_SetAside"]) -> bool:
        outcome = self._store_isolating(good)
        if outcome is None:
            return False
        # Inside the batch's span: the line carries the trace id the events came with.
        log.debug("consumer_batch_stored size=%d", len(good) - len(outcome))
        poisoned.extend(outcome)
        return self._dead_letter(poisoned)

    def _store_isolating(self, good: list["_Payload[P]"]) -> list["_SetAside"] | None:
        """Store the batch; one that bad data spoils is bisected until each bad message stands
        alone (log2(n) rounds, not n). None: a transient failure, so the whole batch is retried
        later (what was stored meanwhile is absorbed by event id)."""
        if not good:
            return []
        try:
            self._process([payload for _, payload, _ in good])
        # Any failure of the store or index is caught: the loop must outlive one bad batch.
        except Exception as exc:
            if not self._is_data_fault(exc):
                log.warning("consumer_store_unavailable error=%s", type(exc).__name__)
                return None
            if len(good) == 1:
                message, payload, whole = good[0]
                value = message.value if whole else self.alone(payload)
                return [(message, value, f"store_error: {type(exc).__name__}: {exc}"[:2000])]
            log.warning("consumer_batch_bisected size=%d error=%s", len(good), type(exc).__name__)
            half = len(good) // 2
            first = self._store_isolating(good[:half])
            second = None if first is None else self._store_isolating(good[half:])
            return None if first is None or second is None else first + second
        MESSAGES.labels(self.dead_letter_topic, "stored").inc(len(good))
        return []

    def _is_data_fault(self, exc: BaseException) -> bool:
        kind = self._failure_kind(exc)
        if kind == "unknown":  # ask the stores: if they answer, the data is what failed
            return self._store_healthy()
        return kind == "data"

    def _dead_letter(self, poisoned: list["_SetAside"]) -> bool:
        if not poisoned:
            return True
        dead = [
            OutgoingMessage(
                value=value,
                key=message.key,
                headers={
                    "error": error,
                    "source_topic": message.topic,
                    "source_partition": str(message.partition),
                    "source_offset": str(message.offset),
                },
            )
            for message, value, error in poisoned
        ]
        try:
            self._dead_letters.publish_sync(self.dead_letter_topic, dead)
        except Exception as exc:  # without the DLQ write we must not commit past the poison
            log.warning("consumer_dead_letter_failed error=%s", type(exc).__name__)
            return False
        MESSAGES.labels(self.dead_letter_topic, "dead_lettered").inc(len(dead))
        for message, _, error in poisoned:
            metrics.dead_lettered(self.dead_letter_topic, error)
            log.warning(
                "consumer_dead_lettered topic=%s offset=%d error=%s",
                message.topic,
                message.offset,
                error.split(":", 1)[0],
            )
        return True

    def _back_off(self) -> None:
        self._failures += 1
        self._sleep(min(self._max_backoff_s, 0.2 * 2 ** min(self._failures, 8)))


class OccurrenceConsumer(BusConsumer[EventOccurred]):
    """The events topic: a message carries one event, or a request's events collected."""

    payload_type = EventOccurred
    dead_letter_topic = EVENTS_DLQ

    def payloads(self, message: ReceivedMessage) -> Sequence[EventOccurred]:
        return decode_occurrences(message.value)

    def alone(self, payload: EventOccurred) -> bytes:
        # The event as a message of its own: a replay from the dead-letter topic brings back
        # this event, not its companions the store already took.
        return encode(payload, message_id=payload.event_id, producer="core_service")


class ReservationConsumer(BusConsumer[EntryRequested]):
    payload_type = EntryRequested
    dead_letter_topic = ENTRIES_DLQ


class IndexConsumer(BusConsumer[bytes]):
    """The index group: each message is already a document's `_bulk` lines, sent as they are."""

    dead_letter_topic = EVENTS_ENRICHED_DLQ

    def payloads(self, message: ReceivedMessage) -> Sequence[bytes]:
        return (message.value,)
