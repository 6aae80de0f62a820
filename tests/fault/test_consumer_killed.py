"""core_service's consumer (`pulse worker`) is killed (`kill -9`) in the middle of a batch and
started again: 0 events lost, 0 stored or counted twice, in Postgres and in the index.

Offsets are committed only after a batch is durably written, so the batch in flight is read
again; storing it again is absorbed by event id (rows, index documents and summary counts).
"""

import asyncio
from pathlib import Path

import pytest

from tests.support.event_load import steady_load
from tests.support.factories import seed_site
from tests.support.fault_deployment import deployment, wait_until
from tests.support.replicated_stack import ReplicatedStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

BATCHES, BATCH_SIZE = 100, 30  # 3,000 events


def test_the_worker_killed_mid_batch_and_restarted_loses_and_repeats_nothing(
    healthy: ReplicatedStack, tmp_path: Path
) -> None:
    # Small batches, so the kill lands with a batch written but not yet committed.
    settings = {"PULSE_CONSUMER_BATCH_SIZE": "100"}
    with deployment(tmp_path, healthy.pulse_env(), **settings) as pulse:
        with pulse.db.unit_of_work() as s:
            site_key = seed_site(s).site_key
        worker = pulse.services["worker"]
        worker.kill9()  # the backlog builds up first, so the kill finds the worker busy
        entry = [pulse.services["entry-0"].url]
        load = asyncio.run(
            steady_load(entry, site_key, batches=BATCHES, batch_size=BATCH_SIZE, interval_s=0)
        )
        total = len(load.acknowledged)
        assert total == BATCHES * BATCH_SIZE
        worker.start()
        wait_until(
            lambda: pulse.stored_events(load.acknowledged)[0] >= total // 5,
            120,
            "a fifth of the events stored",
        )
        worker.kill9()
        at_kill = pulse.stored_events(load.acknowledged)[0]
        assert at_kill < total, "the worker had finished: the kill landed after the last batch"
        worker.start()
        pulse.assert_stored_once(load.acknowledged, timeout_s=120)
        assert pulse.dead_lettered() == 0
