"""entry_service is killed (`kill -9`) between the Redis admission and the durable publish: the
seat it had taken comes back after reconciliation, and the shopper's retry with the same
Idempotency-Key is decided afresh instead of pointing at an entry nobody will ever decide.

The crash lands there for certain: every Kafka broker is down (`kill -9`), so the admitted
reservation waits in the producer's memory when the process dies with it.
"""

import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from entry_service.adapters.redis_gate_scripts import activity_keys
from tests.support.entries import add_activity, confirmed_count, seed_shop, token
from tests.support.fault_deployment import deployment, wait_until
from tests.support.replicated_stack import ReplicatedStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

CAPACITY = 3


def test_a_seat_taken_by_a_crash_before_publish_comes_back(
    healthy: ReplicatedStack, tmp_path: Path
) -> None:
    settings = {
        "PULSE_ENTRY_RECONCILE_INTERVAL_S": "2",
        # The admitted request waits this long for Kafka: long enough to be killed waiting.
        "PULSE_KAFKA_DELIVERY_TIMEOUT_MS": "120000",
    }
    with deployment(tmp_path, healthy.pulse_env(), **settings) as pulse:
        shop = seed_shop(pulse.db)
        activity = add_activity(pulse.db, shop.campaign_id, capacity=CAPACITY)
        entry = pulse.services["entry-0"]
        count_key = activity_keys(activity)[0]

        def enter(user: str, key: str, timeout_s: float = 30) -> dict[str, object]:
            response = httpx.post(
                f"{entry.url}/v1/activities/{activity}/entries",
                json={"user_token": token(user)},
                headers={"Idempotency-Key": key},
                timeout=timeout_s,
            )
            assert response.status_code == 202, response.text
            answer: dict[str, object] = response.json()
            deadline = time.monotonic() + 30
            while answer["status"] == "reserved":  # decided by the worker a moment later
                assert time.monotonic() < deadline, f"still reserved: {answer}"
                time.sleep(0.2)
                answer = httpx.get(f"{entry.url}/v1/entries/{answer['entry_id']}").json()
            return answer

        def counter() -> int:
            client = redis.Redis(port=healthy.redis_primary_port(), socket_timeout=5)
            try:
                return int(client.get(count_key) or 0)
            finally:
                client.close()

        assert enter("first", str(uuid.uuid4()))["status"] == "confirmed"

        for node in (1, 2, 3):
            healthy.kill_broker(node)
        lost_key = str(uuid.uuid4())
        hanging = threading.Thread(target=_ignore_errors, args=(enter, "lost", lost_key, 60))
        hanging.start()
        wait_until(lambda: counter() == 2, 30, "the admission in Redis")
        time.sleep(0.5)
        entry.kill9()  # admitted in Redis, not yet on Kafka: nothing will ever decide it
        hanging.join(30)
        healthy.stack("up")
        entry.start()

        # The reconciler sees the counter above Postgres and still for a whole interval.
        wait_until(lambda: counter() == confirmed_count(pulse.db, activity) == 1, 60, "a pass")
        retry = enter("lost", lost_key)
        assert retry["status"] == "confirmed", retry
        assert enter("second", str(uuid.uuid4()))["status"] == "confirmed"
        late = enter("late", str(uuid.uuid4()))
        assert (late["status"], late.get("reason")) == ("rejected", "sold_out")
        assert confirmed_count(pulse.db, activity) == CAPACITY


def _ignore_errors(enter: object, *args: object) -> None:
    try:
        enter(*args)  # type: ignore[operator]
    except (httpx.HTTPError, AssertionError):
        pass  # the process answering it was killed: no answer is the expected outcome
