"""Kafka delivery reports counted per published batch, so a publish waits once for all of them."""

import threading
from collections.abc import Callable

from confluent_kafka import KafkaError, Message


class DeliveryCountdown:
    """Counts delivery reports; reports once: at the first error, or when all are delivered."""

    def __init__(self, count: int, report: Callable[[KafkaError | None], object]) -> None:
        self._left = count
        self._report = report
        self._lock = threading.Lock()
        self._reported = count == 0
        if self._reported:
            report(None)

    def delivered(self, err: KafkaError | None, _msg: Message) -> None:
        with self._lock:
            if self._reported:
                return
            self._left -= 1
            if err is None and self._left > 0:
                return
            self._reported = True
        self._report(err)
