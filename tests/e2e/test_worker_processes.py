"""`pulse worker --workers 2` on the full stack: two processes share the events topic's partitions
in one consumer group, every event is stored and indexed once, and a process killed with
SIGKILL loses nothing (uvicorn's supervisor starts another; the group hands the dead member's
partitions on once its session expires)."""

import signal
import subprocess
import uuid
from pathlib import Path

import psutil
import pytest
from confluent_kafka import Consumer, ConsumerGroupState, TopicPartition
from confluent_kafka.admin import AdminClient

from common_messaging import EVENTS_RAW
from common_messaging.bus import BusSettings, open_publisher
from tests.engines import engine_url
from tests.support.factories import collected_message, occurrence, seed_site
from tests.support.fault_deployment import Deployment, deployment, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

PARTITIONS = 4
VISITORS = 16  # fixed names, so their keys land on every partition (checked below)


def _workers(supervisor: subprocess.Popen[bytes]) -> list[psutil.Process]:
    # uvicorn spawns its workers through multiprocessing; the resource tracker is no worker.
    children = psutil.Process(supervisor.pid).children()
    return [
        c
        for c in children
        if c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline())
    ]


def _store_group(pulse: Deployment) -> tuple[ConsumerGroupState, list[set[int]]]:
    """The store group's state and, per member, the events topic's partitions assigned to it."""
    admin = AdminClient({"bootstrap.servers": pulse.env["PULSE_KAFKA_BOOTSTRAP_SERVERS"]})
    group = pulse.env["PULSE_CONSUMER_GROUP"]
    topic = pulse.env["PULSE_KAFKA_TOPIC_PREFIX"] + EVENTS_RAW
    found = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    members = [
        {tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic}
        for m in found.members
    ]
    return found.state, members


def _shared_by_two(pulse: Deployment) -> bool:
    state, members = _store_group(pulse)
    return (
        state == ConsumerGroupState.STABLE
        and len(members) == 2
        and all(members)
        and set().union(*members) == set(range(PARTITIONS))
    )


def _publish(pulse: Deployment, site_id: uuid.UUID, per_visitor: int) -> set[str]:
    """A request's worth of events for every visitor, one message each, as the edge publishes."""
    requests = [
        [occurrence(site_id=site_id, anonymous_id=f"visitor-{v}") for _ in range(per_visitor)]
        for v in range(VISITORS)
    ]
    bus = BusSettings(
        kafka_bootstrap_servers=pulse.env["PULSE_KAFKA_BOOTSTRAP_SERVERS"],
        kafka_topic_prefix=pulse.env["PULSE_KAFKA_TOPIC_PREFIX"],
    )
    publisher = open_publisher(bus)
    try:
        publisher.publish_sync(EVENTS_RAW, [collected_message(r) for r in requests])
    finally:
        publisher.close()
    return {str(e.event_id) for r in requests for e in r}


def _partitions_with_messages(pulse: Deployment) -> set[int]:
    topic = pulse.env["PULSE_KAFKA_TOPIC_PREFIX"] + EVENTS_RAW
    servers = pulse.env["PULSE_KAFKA_BOOTSTRAP_SERVERS"]
    probe = Consumer({"bootstrap.servers": servers, "group.id": f"probe-{uuid.uuid4()}"})
    try:
        ends = {
            p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
    finally:
        probe.close()
    return {p for p, end in ends.items() if end > 0}


def test_two_worker_processes_share_the_partitions_and_survive_a_kill(tmp_path: Path) -> None:
    engines = {
        "PULSE_KAFKA_BOOTSTRAP_SERVERS": engine_url("kafka"),
        "PULSE_REDIS_URL": engine_url("redis"),
    }
    with deployment(
        tmp_path,
        engines,
        entry_processes=0,
        worker_processes=2,
        PULSE_KAFKA_PARTITIONS=str(PARTITIONS),
    ) as pulse:
        supervisor = pulse.services["worker"].proc
        assert supervisor is not None
        wait_until(lambda: len(_workers(supervisor)) == 2, 60, "two worker processes")
        with pulse.db.unit_of_work() as s:
            site_id = seed_site(s).id

        # Both processes join the store group, and each is given some of the partitions.
        wait_until(lambda: _shared_by_two(pulse), 60, "the store group shared by two members")
        first = _publish(pulse, site_id, per_visitor=5)
        assert _partitions_with_messages(pulse) == set(range(PARTITIONS))
        pulse.assert_stored_once(first, timeout_s=60)

        # One process dies without leaving the group; what is published next is still stored,
        # once, whichever partition it lands on.
        victim = _workers(supervisor)[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        second = _publish(pulse, site_id, per_visitor=5)
        wait_until(
            lambda: len(_workers(supervisor)) == 2 and victim not in _workers(supervisor),
            60,
            "the supervisor's replacement process",
        )
        pulse.assert_stored_once(first | second, timeout_s=120)
        wait_until(lambda: _shared_by_two(pulse), 60, "the replacement in the store group")

        workers = _workers(supervisor)
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=30) == 0, pulse.services["worker"].log.read_text()[-4000:]
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
