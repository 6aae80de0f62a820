"""Typed ports of the event bus, shaped after Kafka: keyed messages, batches, explicit commits."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class BusUnavailableError(RuntimeError):
    """The bus could not durably take the messages; the caller should ask the client to retry."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    value: bytes
    key: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class EventPublisher(Protocol):
    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        """Return once every message is durably stored; raise BusUnavailableError otherwise."""
        ...

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        """Blocking variant for consumer threads (dead-letter writes)."""
        ...

    def close(self) -> None: ...


class EventConsumer(Protocol):
    def poll(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        """Next messages after the consumer's position; advances the position, not the commit."""
        ...

    def commit(self, messages: Sequence[ReceivedMessage]) -> None:
        """Store the group's offsets past these messages; call only after durable processing."""
        ...

    def rewind_to_committed(self) -> None:
        """Move the position back to the committed offsets, so a failed batch is read again."""
        ...

    def close(self) -> None: ...
