"""A bus that takes every message at once: a benchmark floor's stand-in for Kafka.

Passed through a service's composition root (e.g. entry_service's `open_ports(open_bus=...)`),
it shows what a request costs without the publish and its delivery wait; everything else on
the path stays real.
"""

from collections.abc import Sequence

from common_messaging import OutgoingMessage


class AcknowledgingPublisher:
    """An `EventPublisher` that stores nothing and answers at once."""

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        return None

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        return None

    def close(self) -> None:
        return None
