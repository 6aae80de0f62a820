"""Kafka adapters of the bus port (confluent-kafka).

Producer: idempotent, acks=all, lz4-compressed batches; `publish` resolves only once the broker
acknowledged every message, so a 2xx to a client means the events are replicated per the topic's
min.insync.replicas. Consumer: no auto-commit; the caller commits offsets synchronously after
the batch is durably written, and rewinds to the committed offsets to retry a failed batch.
"""

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from common_messaging.bus.delivery import DeliveryCountdown
from common_messaging.bus.kafka_security import KafkaSecurity, client_config
from common_messaging.bus.ports import BusUnavailableError, OutgoingMessage, ReceivedMessage

log = logging.getLogger(__name__)


def producer_config(
    bootstrap_servers: str,
    client_id: str,
    timeout_ms: int,
    security: KafkaSecurity | None = None,
) -> dict[str, Any]:
    return {
        **client_config(bootstrap_servers, security),
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": 5,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 200_000,
        # A client waiting on its 202 must hear "retry" long before librdkafka's 5 min default.
        "message.timeout.ms": timeout_ms,
    }


class KafkaPublisher:
    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        timeout_ms: int = 15_000,
        topic_prefix: str = "",
        *,
        security: KafkaSecurity | None = None,
    ) -> None:
        self._producer = Producer(
            producer_config(bootstrap_servers, client_id, timeout_ms, security)
        )
        self._prefix = topic_prefix
        self._timeout_s = timeout_ms / 1000 + 5
        self._running = True
        # Delivery callbacks are served by poll(); one thread keeps serving them.
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-producer-poll")
        self._poller.daemon = True
        self._poller.start()

    def _poll_loop(self) -> None:
        while self._running:
            self._producer.poll(0.1)

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # One wake-up of the event loop per batch, not per message: the delivery callbacks
        # (on the poll thread) count down and settle the batch's future once.
        pending = DeliveryCountdown(
            len(messages), lambda err: loop.call_soon_threadsafe(_settle, done, err)
        )
        for message in messages:
            self._produce(topic, message, pending.delivered)
        try:
            await asyncio.wait_for(done, self._timeout_s)
        except (KafkaException, TimeoutError) as exc:
            raise BusUnavailableError(f"kafka did not acknowledge the batch: {exc}") from exc

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        # Waits for the poll thread to serve the delivery reports instead of calling flush()
        # here: only one thread ever polls this producer (concurrent poll/flush on one handle is
        # among the suspects of a segfault seen under load).
        done = threading.Event()
        errors: list[KafkaError] = []

        def report(err: KafkaError | None) -> None:
            if err is not None:
                errors.append(err)
            done.set()

        pending = DeliveryCountdown(len(messages), report)
        for message in messages:
            self._produce(topic, message, pending.delivered)
        if not done.wait(self._timeout_s):
            raise BusUnavailableError("kafka did not acknowledge the batch: timeout")
        if errors:
            raise BusUnavailableError(f"kafka did not acknowledge the batch: {errors[0]}")

    def _produce(self, topic: str, message: OutgoingMessage, callback: Any) -> None:
        try:
            self._producer.produce(
                self._prefix + topic,
                value=message.value,
                key=message.key,
                headers=list(message.headers.items()),
                on_delivery=callback,
            )
        except BufferError as exc:
            raise BusUnavailableError("kafka producer queue is full") from exc
        except KafkaException as exc:
            raise BusUnavailableError(f"kafka refused the message: {exc}") from exc

    def close(self) -> None:
        # The poll thread stops first, so the final flush is the only caller serving reports.
        self._running = False
        self._poller.join(2)
        self._producer.flush(10)


def _settle(fut: "asyncio.Future[None]", err: KafkaError | None) -> None:
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(KafkaException(err))


class KafkaEventConsumer:
    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        topic_prefix: str = "",
        *,
        start_at_latest: bool = False,
        security: KafkaSecurity | None = None,
    ) -> None:
        # The prefix isolates environments sharing a cluster; callers see logical topic names.
        self._prefix = topic_prefix
        self._consumer = Consumer(
            {
                **client_config(bootstrap_servers, security),
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "latest" if start_at_latest else "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
            }
        )
        self._consumer.subscribe([topic_prefix + t for t in topics])

    def poll(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        # librdkafka's consume() waits out its whole timeout for a batch it cannot fill: every
        # partial batch (any moment the consumer is ahead of the traffic) would wait
        # `timeout_s` before being stored. Wait for the first message only, then take what is
        # already fetched, as the embedded log does.
        messages = self._consumer.consume(num_messages=1, timeout=timeout_s)
        if messages and max_messages > 1:
            messages += self._consumer.consume(num_messages=max_messages - 1, timeout=0)
        batch: list[ReceivedMessage] = []
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("kafka_consume_error code=%s reason=%s", err.code(), err.str())
                continue
            batch.append(_received(msg, self._prefix))
        return batch

    def commit(self, messages: Sequence[ReceivedMessage]) -> None:
        next_offsets: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic, m.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), m.offset + 1)
        offsets = [TopicPartition(self._prefix + t, p, o) for (t, p), o in next_offsets.items()]
        if offsets:
            self._consumer.commit(offsets=offsets, asynchronous=False)

    def rewind_to_committed(self) -> None:
        assignment = self._consumer.assignment()
        if not assignment:
            return
        for tp in self._consumer.committed(assignment, timeout=10):
            offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))

    def close(self) -> None:
        self._consumer.close()


def _received(msg: Message, prefix: str) -> ReceivedMessage:
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    headers = {k: v.decode() if isinstance(v, bytes) else str(v or "") for k, v in pairs}
    value = msg.value()
    key = msg.key()
    return ReceivedMessage(
        topic=str(msg.topic()).removeprefix(prefix),
        partition=int(msg.partition() or 0),
        offset=int(msg.offset() or 0),
        value=value if isinstance(value, bytes) else b"",
        key=key if isinstance(key, bytes) or key is None else str(key).encode(),
        headers=headers,
    )
