"""A Kafka broker is killed (`kill -9`) in the middle of a steady event load: every event
answered 202 is in Postgres and in the analytics index, exactly once.

Three brokers, topics replicated 3 times with min.insync.replicas 2, and Pulse's producer on
acks=all: a 202 means two brokers at least had the batch, so losing one loses nothing.
"""

import asyncio
from pathlib import Path

import pytest

from tests.support.event_load import Load, steady_load
from tests.support.factories import seed_site
from tests.support.fault_deployment import deployment
from tests.support.replicated_stack import ReplicatedStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

BATCHES, BATCH_SIZE = 150, 20  # 3,000 events over ~30 s


def test_a_broker_killed_mid_load_loses_no_acknowledged_event(
    healthy: ReplicatedStack, tmp_path: Path
) -> None:
    with deployment(tmp_path, healthy.pulse_env()) as pulse:
        with pulse.db.unit_of_work() as s:
            site_key = seed_site(s).site_key

        def kill_a_broker(load: Load, n: int) -> None:
            if n == BATCHES // 3:
                healthy.kill_broker(1)  # the first bootstrap server, too
                load.marks.append(f"broker 1 killed after {len(load.acknowledged)} acks")

        load = asyncio.run(
            steady_load(
                [pulse.services["entry-0"].url],
                site_key,
                batches=BATCHES,
                batch_size=BATCH_SIZE,
                interval_s=0.2,
                during=kill_a_broker,
            )
        )
        assert len(load.marks) == 1
        pulse.assert_stored_once(load.acknowledged, timeout_s=120)
        assert pulse.dead_lettered() == 0
    # Every post ended acknowledged (retried with its ids while a leader moved).
    assert len(load.acknowledged) == BATCHES * BATCH_SIZE
