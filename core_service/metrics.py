"""core_service's consumer metrics, kept apart from the loop so the loop gains one-line calls.

Labels are bounded: topics, consumer groups, partitions, stores and error classes, never an id.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from common_messaging import ENTRIES_DLQ, EVENTS_DLQ, EVENTS_ENRICHED_DLQ
from common_messaging.bus import BusSettings
from servicekit.engine_metrics import engine_error
from servicekit.tracing import span

log = logging.getLogger(__name__)

SERVICE = "worker"
BATCHES = Counter(
    "pulse_consumer_batches_total",
    "Polled batches by topic and outcome (stored, retried)",
    ["topic", "outcome"],
)
DEAD_LETTERED = Counter(
    "pulse_consumer_dead_lettered_total",
    "Messages sent to a dead-letter topic, by dead-letter topic and reason",
    ["topic", "reason"],
)
STORE_WRITE = Histogram(
    "pulse_store_write_duration_seconds",
    "Time to write one batch to a store (database, analytics_index)",
    ["store"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LAG = Gauge(
    "pulse_consumer_lag_messages",
    "Messages of a partition not yet consumed by the group (end offset - committed offset)",
    ["group", "topic", "partition"],
)

T = TypeVar("T")

# Known label sets start at 0, so the first dead letter is an increase Prometheus can see
# (a series born at 1 has no earlier sample to rise from, and `increase()` would miss it).
for _topic in (EVENTS_DLQ, ENTRIES_DLQ, EVENTS_ENRICHED_DLQ):
    for _reason in ("decode_error", "store_error"):
        DEAD_LETTERED.labels(_topic, _reason)


class PartitionLag(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def lag(self) -> int: ...


def batch_done(topic: str, outcome: str) -> None:
    BATCHES.labels(topic, outcome).inc()


def dead_lettered(topic: str, error: str) -> None:
    # `decode_error: ...` / `store_error: ...`: only the class before the colon is a label.
    DEAD_LETTERED.labels(topic, error.split(":", 1)[0]).inc()


def timed_write(store: str, engine: str | None, write: Callable[..., T], *args: object) -> T:
    """Run one store write, observing its duration; a failure counts as an engine error."""
    start = time.perf_counter()
    try:
        with span(f"write {store}"):
            return write(*args)
    except Exception:
        if engine is not None:
            engine_error(SERVICE, engine, "write")
        raise
    finally:
        STORE_WRITE.labels(store).observe(time.perf_counter() - start)


def kafka_error(operation: str) -> None:
    engine_error(SERVICE, "kafka", operation)


class LagReporter:
    """Publishes the groups' lag per partition every `interval_s`, on a thread of its own."""

    def __init__(
        self,
        read: Callable[[str, Sequence[str]], Sequence[PartitionLag]],
        groups: Mapping[str, Sequence[str]],
        interval_s: float = 15.0,
    ) -> None:
        self._read = read
        self._groups = groups
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulse-lag", daemon=True)

    def report(self) -> None:
        for group, topics in self._groups.items():
            try:
                lags = self._read(group, topics)
            except Exception as exc:  # the broker may be down: that is what the alerts are for
                kafka_error("lag")
                log.warning("consumer_lag_unknown group=%s error=%s", group, type(exc).__name__)
                continue
            for item in lags:
                LAG.labels(group, item.topic, str(item.partition)).set(item.lag)

    def _run(self) -> None:
        while True:
            self.report()
            if self._stop.wait(self._interval_s):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


def lag_reporter(bus: BusSettings, groups: Mapping[str, Sequence[str]]) -> LagReporter | None:
    """A reporter on Kafka; None on the embedded log, which has no partitions to lag on."""
    if not bus.kafka_bootstrap_servers:
        return None
    from common_messaging.bus.kafka_lag import KafkaLagReader

    reader = KafkaLagReader(bus.kafka_bootstrap_servers, bus.kafka_topic_prefix)
    return LagReporter(reader.lag, groups)
