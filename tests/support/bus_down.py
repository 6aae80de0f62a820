"""An event publisher refusing every message, as Kafka's does when no broker takes it: for the
edge's 503 paths."""

from collections.abc import Sequence

from common_messaging import BusUnavailableError, OutgoingMessage


class BusDown:
    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        raise BusUnavailableError("broker unreachable")

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        raise BusUnavailableError("broker unreachable")

    def close(self) -> None:
        pass
