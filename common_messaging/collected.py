"""The events topic's two message forms, and the one decoder of both.

The edge publishes the accepted events of one request as one `EventsCollected` message per
visitor in it (nearly always one): one produce, one delivery report and one record for the
broker to validate, where a message per event cost the edge ten (docs/benchmarks.md, "Issue 13:
one message per request"). A message of one `EventOccurred` stays valid on the topic: older
edges, tools, and `pulse dlq replay` of an event set aside alone from a collected message.
The consumer reads both with `decode_occurrences`, in one pass of pydantic-core over the bytes.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from common_messaging.codec import MessageDecodeError, encode_fields, summarise
from common_messaging.envelope import Envelope
from common_messaging.events import EventOccurred


class EventsCollected(BaseModel):
    """The accepted events of one posted batch that share a visitor, in the order posted
    (entry_service -> core_service). Each is an `EventOccurred`, collected, not enriched."""

    SCHEMA_NAME: ClassVar[str] = "pulse.events_collected"
    SCHEMA_VERSION: ClassVar[int] = 1

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: list[EventOccurred] = Field(min_length=1)


class _OneEvent(Envelope[EventOccurred]):
    schema_name: Literal["pulse.event_occurred"]
    schema_version: Literal[1]


class _Collected(Envelope[EventsCollected]):
    schema_name: Literal["pulse.events_collected"]
    schema_version: Literal[1]


# The schema name picks the form before anything else is read: one pass, no retry.
_EVENTS_TOPIC: TypeAdapter[_OneEvent | _Collected] = TypeAdapter(
    Annotated[_OneEvent | _Collected, Field(discriminator="schema_name")]
)


def decode_occurrences(raw: bytes) -> list[EventOccurred]:
    """The events a message of the events topic carries; MessageDecodeError for anything else
    (another schema or version, bytes that are not JSON, an event that does not validate)."""
    try:
        envelope = _EVENTS_TOPIC.validate_json(raw)
    except ValidationError as exc:
        raise MessageDecodeError(summarise(exc)) from exc
    if isinstance(envelope, _Collected):
        return envelope.payload.events
    return [envelope.payload]


def encode_collected(
    events: Sequence[Mapping[str, Any]],
    *,
    message_id: UUID,
    producer: str,
    produced_at: datetime,
) -> bytes:
    """Events given as `EventOccurred`'s fields, already validated by the producer, in one
    `EventsCollected` message: one pass of pydantic-core's serializer, no model built."""
    return encode_fields(
        {"events": events},
        EventsCollected,
        message_id=message_id,
        producer=producer,
        produced_at=produced_at,
    )
