"""The shared contract between Pulse services: message models, topics, codec and the bus port.

Nothing else is shared between services. Public entry points: `encode`, `decode`,
`EventOccurred`, the topic constants and the bus protocols.
"""

from common_messaging.bus.ports import (
    BusUnavailableError,
    EventConsumer,
    EventPublisher,
    OutgoingMessage,
    ReceivedMessage,
)
from common_messaging.codec import MessageDecodeError, decode, encode
from common_messaging.envelope import Envelope
from common_messaging.events import (
    DeviceInfo,
    DeviceType,
    EventOccurred,
    EventType,
    PurchaseInfo,
)
from common_messaging.topics import EVENTS_DLQ, EVENTS_RAW

__all__ = [
    "EVENTS_DLQ",
    "EVENTS_RAW",
    "BusUnavailableError",
    "DeviceInfo",
    "DeviceType",
    "Envelope",
    "EventConsumer",
    "EventOccurred",
    "EventPublisher",
    "EventType",
    "MessageDecodeError",
    "OutgoingMessage",
    "PurchaseInfo",
    "ReceivedMessage",
    "decode",
    "encode",
]
