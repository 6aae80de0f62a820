"""The walkthrough on the full stack: Postgres, Kafka, Elasticsearch and Redis, with the three
services as separate processes, as deployed. Also: a poison message ends in the dead-letter
topic while the consumer keeps going, and replaying the topic from offset 0 changes no count."""

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, func, select

from common_messaging import EVENTS_DLQ, EVENTS_RAW
from datastore.schema import EventOccurrence, Purchase, UserSummary
from tests.e2e.flow import (
    DESKTOP_UA,
    check_sample_metrics,
    create_catalog,
    event,
    sample_batch,
    wait_for_metrics,
)
from tests.e2e.process import PULSE, clean_env, free_ports, process, wait_ready
from tests.engines import engine_url, scratch_postgres_database

pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(400),
]

ADMIN_TOKEN = "adm-full-stack"
READ_TOKEN = "dash-full-stack"


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    run = uuid.uuid4().hex[:8]
    with scratch_postgres_database() as database_url:
        yield {
            "PULSE_DATABASE_URL": database_url,
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": engine_url("kafka"),
            "PULSE_KAFKA_TOPIC_PREFIX": f"e2e-{run}.",
            "PULSE_ELASTICSEARCH_URL": engine_url("elasticsearch"),
            "PULSE_ELASTICSEARCH_INDEX_PREFIX": f"pulse-e2e-{run}",
            "PULSE_REDIS_URL": engine_url("redis"),
            "PULSE_ADMIN_TOKEN": ADMIN_TOKEN,
            "PULSE_DASHBOARD_TOKEN": READ_TOKEN,
            "PULSE_DATA_DIR": str(tmp_path / "data"),
        }
        es = Elasticsearch(engine_url("elasticsearch"))
        # Names, not a wildcard: deleting by wildcard is refused (destructive_requires_name).
        for index in es.indices.get(index=f"pulse-e2e-{run}-*", allow_no_indices=True):
            es.indices.delete(index=index)
        es.options(ignore_status=404).indices.delete_index_template(name=f"pulse-e2e-{run}")
        es.close()


def _services(stack: ExitStack, env: dict[str, str], tmp: Path, tag: str) -> dict[str, str]:
    urls = {}
    for name, port in zip(("core", "entry", "dashboard"), free_ports(3), strict=True):
        log = tmp / f"{name}-{tag}.log"
        proc = stack.enter_context(
            process([PULSE, name, "--host", "127.0.0.1", "--port", str(port)], env, log)
        )
        urls[name] = f"http://127.0.0.1:{port}"
        wait_ready(urls[name], proc, log, timeout_s=60)
    return urls


def _counts(database_url: str) -> tuple[int, int, int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        counts = (
            conn.scalar(select(func.count()).select_from(EventOccurrence)) or 0,
            conn.scalar(select(func.count()).select_from(Purchase)) or 0,
            conn.scalar(select(func.coalesce(func.sum(UserSummary.event_count), 0))) or 0,
        )
    engine.dispose()
    return counts


def _dead_letters(env: dict[str, str], expected: int) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = Consumer(
        {
            "bootstrap.servers": env["PULSE_KAFKA_BOOTSTRAP_SERVERS"],
            "group.id": f"dlq-reader-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([env["PULSE_KAFKA_TOPIC_PREFIX"] + EVENTS_DLQ])
    found: list[tuple[bytes, dict[str, bytes]]] = []
    deadline = time.monotonic() + 30
    while len(found) < expected and time.monotonic() < deadline:
        for msg in consumer.consume(10, 1.0):
            if msg.error() is None:
                found.append((msg.value(), dict(msg.headers() or [])))
    consumer.close()
    return found


def _lag(env: dict[str, str], group: str) -> int:
    """Messages of the events topic the group has not committed yet."""
    servers = env["PULSE_KAFKA_BOOTSTRAP_SERVERS"]
    topic = env["PULSE_KAFKA_TOPIC_PREFIX"] + EVENTS_RAW
    admin = AdminClient({"bootstrap.servers": servers})
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request)[group].result()
    committed = {tp.partition: tp.offset for tp in result.topic_partitions if tp.topic == topic}
    probe = Consumer({"bootstrap.servers": servers, "group.id": f"probe-{uuid.uuid4()}"})
    lag = 0
    for partition in probe.list_topics(topic, timeout=10).topics[topic].partitions:
        low, high = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        lag += high - max(committed.get(partition, low), low)
    probe.close()
    return lag


def _wait_caught_up(env: dict[str, str], group: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while (lag := _lag(env, group)) > 0:
        assert time.monotonic() < deadline, f"consumer group {group} still {lag} behind"
        time.sleep(0.5)


def test_full_stack_flow_dead_letters_and_replay(stack_env: dict[str, str], tmp_path: Path) -> None:
    env = clean_env(stack_env)
    result = subprocess.run(
        [PULSE, "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}

    with ExitStack() as stack:
        urls = _services(stack, env, tmp_path, "first")
        with httpx.Client(base_url=urls["core"]) as core:
            catalog = create_catalog(core, admin)
        with httpx.Client(base_url=urls["entry"]) as entry:
            defs = entry.get(f"/v1/sites/{catalog.site_key}/definitions").json()["definitions"]
            assert len(defs) == 4
            assert entry.post("/v1/events", json=sample_batch(catalog)).json()["accepted"] == 8
        with httpx.Client(base_url=urls["dashboard"]) as dashboard:
            metrics, _ = wait_for_metrics(dashboard, reader, catalog.campaign_id, 5, 30)
        check_sample_metrics(metrics, catalog)

        # A message no one can parse lands in the dead-letter topic; the consumer goes on.
        producer = Producer({"bootstrap.servers": env["PULSE_KAFKA_BOOTSTRAP_SERVERS"]})
        producer.produce(env["PULSE_KAFKA_TOPIC_PREFIX"] + EVENTS_RAW, b"{not an envelope")
        assert producer.flush(10) == 0
        late = event(catalog.definitions["flash view"], "page_view", "v9", DESKTOP_UA)
        with httpx.Client(base_url=urls["entry"]) as entry:
            batch = {"site_key": catalog.site_key, "events": [late]}
            assert entry.post("/v1/events", json=batch).json()["accepted"] == 1
        with httpx.Client(base_url=urls["dashboard"]) as dashboard:
            metrics, _ = wait_for_metrics(dashboard, reader, catalog.campaign_id, 6, 30)
        [(value, headers)] = _dead_letters(env, 1)
        assert value == b"{not an envelope"
        assert headers["error"].startswith(b"decode_error")

    before = _counts(env["PULSE_DATABASE_URL"])
    assert before == (9, 1, 9)  # 8 + 1 events, one of them a purchase

    # Replay: a new consumer group reads the topic again from offset 0.
    env["PULSE_CONSUMER_GROUP"] = f"replay-{uuid.uuid4().hex[:6]}"
    with ExitStack() as stack:
        urls = _services(stack, env, tmp_path, "replay")
        _wait_caught_up(env, env["PULSE_CONSUMER_GROUP"])
        with httpx.Client(base_url=urls["dashboard"]) as dashboard:
            replayed = dashboard.get(
                f"/v1/campaigns/{catalog.campaign_id}/metrics", headers=reader
            ).json()
    assert _counts(env["PULSE_DATABASE_URL"]) == before
    assert replayed["totals"] == metrics["totals"]
    assert len(_dead_letters(env, 2)) == 2  # the poison message, dead-lettered again on replay
