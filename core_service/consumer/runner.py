"""core_service's consumer loops, each on its own thread, started and stopped together: the
store group (events), the reservations, and with Elasticsearch the index group.

Built by `core_service.wiring.open_consumers`; run inside the admin API's process on the
embedded default (`pulse run`) or alone as `pulse worker`.
"""

import threading
from collections.abc import Callable, Sequence

from common_messaging import EventPublisher
from core_service.consumer.loop import IndexConsumer, OccurrenceConsumer, ReservationConsumer
from core_service.metrics import LagReporter


class ConsumerThreads:
    def __init__(
        self,
        occurrences: OccurrenceConsumer,
        reservations: ReservationConsumer,
        publisher: EventPublisher,
        lag: LagReporter | None = None,
        indexing: IndexConsumer | None = None,
        periodic: Sequence[tuple[str, Callable[[threading.Event], None]]] = (),
    ) -> None:
        self._publisher = publisher
        self._lag = lag  # consumer lag per partition, for /metrics (Kafka only)
        self._stop = threading.Event()
        loops = [("pulse-core-consumer", occurrences.run), ("pulse-core-entries", reservations.run)]
        if indexing is not None:
            loops.append(("pulse-core-indexer", indexing.run))
        self._threads = [
            threading.Thread(target=loop, args=(self._stop,), name=name, daemon=True)
            # Jobs on a timer (the hold sweeper) run and stop with the loops.
            for name, loop in [*loops, *periodic]
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        if self._lag is not None:
            self._lag.start()

    def is_alive(self) -> bool:
        return all(thread.is_alive() for thread in self._threads)

    async def check(self) -> None:
        """A readiness check: every loop still running."""
        if not self.is_alive():
            raise RuntimeError("consumer thread stopped")

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        if self._lag is not None:
            self._lag.stop()
        self._publisher.close()
