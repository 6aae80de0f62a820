"""Consumer lag per partition on the real Kafka: it rises while no consumer runs, and falls to
zero once the group has consumed and committed, as the worker's /metrics reports it."""

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from common_messaging import EVENTS_RAW, OutgoingMessage
from common_messaging.bus.kafka import KafkaEventConsumer, KafkaPublisher
from common_messaging.bus.kafka_admin import ensure_topics
from common_messaging.bus.kafka_lag import KafkaLagReader
from core_service.metrics import LagReporter
from tests.engines import engine_url

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
PARTITIONS = 3


@pytest.fixture
def scratch() -> Iterator[tuple[str, str, str]]:
    """A prefixed copy of the events topic and a consumer group, both removed afterwards."""
    servers = engine_url("kafka")
    prefix, group = f"lag-{uuid.uuid4().hex[:8]}.", f"lag-test-{uuid.uuid4().hex[:8]}"
    ensure_topics(
        servers, {prefix + EVENTS_RAW: 3_600_000}, partitions=PARTITIONS, replication_factor=1
    )
    yield servers, prefix, group
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.delete_consumer_groups([group], request_timeout=10).values():
        try:
            future.result(10)
        except Exception:  # never created if the test failed before consuming
            pass
    for future in admin.delete_topics([prefix + EVENTS_RAW], operation_timeout=10).values():
        future.result(10)


def _publish(servers: str, prefix: str, count: int) -> None:
    publisher = KafkaPublisher(servers, "lag-test", 15_000, prefix)
    try:
        publisher.publish_sync(
            EVENTS_RAW,
            [OutgoingMessage(value=b"{}", key=f"k{n}".encode()) for n in range(count)],
        )
    finally:
        publisher.close()


def _scraped_lag(group: str) -> dict[str, float]:
    """pulse_consumer_lag_messages per partition, as /metrics serves it."""
    text = generate_latest().decode()
    return {
        s.labels["partition"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "pulse_consumer_lag_messages"
        and s.labels["group"] == group
        and s.labels["topic"] == EVENTS_RAW
    }


def test_lag_rises_while_stopped_and_falls_after(scratch: tuple[str, str, str]) -> None:
    servers, prefix, group = scratch
    reporter = LagReporter(KafkaLagReader(servers, prefix).lag, {group: [EVENTS_RAW]})

    _publish(servers, prefix, 30)
    reporter.report()
    first = _scraped_lag(group)
    assert sorted(first) == [str(p) for p in range(PARTITIONS)]  # every partition, by number
    assert sum(first.values()) == 30

    _publish(servers, prefix, 20)  # still no consumer: the lag grows
    reporter.report()
    assert sum(_scraped_lag(group).values()) == 50

    consumer = KafkaEventConsumer(servers, group, [EVENTS_RAW], prefix)
    try:
        seen: list[object] = []
        deadline = time.monotonic() + 30
        while len(seen) < 50:
            assert time.monotonic() < deadline, f"consumed only {len(seen)} of 50"
            batch = consumer.poll(100, 0.5)
            consumer.commit(batch)
            seen.extend(batch)
    finally:
        consumer.close()
    reporter.report()
    assert _scraped_lag(group) == {str(p): 0.0 for p in range(PARTITIONS)}


def test_unreachable_broker_counts_an_engine_error() -> None:
    from servicekit.engine_metrics import ENGINE_ERRORS

    before = ENGINE_ERRORS.labels("worker", "kafka", "lag")._value.get()
    reader = KafkaLagReader("127.0.0.1:1")
    reporter = LagReporter(lambda g, t: reader.lag(g, t, timeout_s=1), {"g": [EVENTS_RAW]})
    reporter.report()
    assert ENGINE_ERRORS.labels("worker", "kafka", "lag")._value.get() == before + 1
