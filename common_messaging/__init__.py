"""The shared contract between Pulse services: message models, topics, codec and the bus port.

Nothing else is shared between services. Public entry points: `encode`, `decode`,
`EventOccurred`, `EventsCollected` and `decode_occurrences`, the topic constants and the bus
protocols.
"""

from common_messaging.bus.ports import (
    BusUnavailableError,
    EventConsumer,
    EventPublisher,
    OutgoingMessage,
    ReceivedMessage,
)
from common_messaging.codec import MessageDecodeError, decode, encode, encode_fields
from common_messaging.collected import EventsCollected, decode_occurrences, encode_collected
from common_messaging.entries import EntryDecided, EntryReason, EntryRequested, EntryStatus
from common_messaging.envelope import Envelope
from common_messaging.events import (
    DeviceInfo,
    DeviceType,
    EventOccurred,
    EventType,
    PurchaseInfo,
)
from common_messaging.topics import (
    ENTRIES_DECIDED,
    ENTRIES_DLQ,
    ENTRIES_REQUESTED,
    EVENTS_DLQ,
    EVENTS_ENRICHED,
    EVENTS_ENRICHED_DLQ,
    EVENTS_RAW,
)

__all__ = [
    "ENTRIES_DECIDED",
    "ENTRIES_DLQ",
    "ENTRIES_REQUESTED",
    "EVENTS_DLQ",
    "EVENTS_ENRICHED",
    "EVENTS_ENRICHED_DLQ",
    "EVENTS_RAW",
    "BusUnavailableError",
    "DeviceInfo",
    "DeviceType",
    "EntryDecided",
    "EntryReason",
    "EntryRequested",
    "EntryStatus",
    "Envelope",
    "EventConsumer",
    "EventOccurred",
    "EventPublisher",
    "EventType",
    "EventsCollected",
    "MessageDecodeError",
    "OutgoingMessage",
    "PurchaseInfo",
    "ReceivedMessage",
    "decode",
    "decode_occurrences",
    "encode",
    "encode_collected",
    "encode_fields",
]
