"""The Redis primary is killed (`kill -9`) in the middle of an entry spike and the Sentinels
promote its replica: the gate keeps answering, no confirmed entry is lost, and confirmed entries
never exceed the capacity.

Redis with Sentinel can lose acknowledged writes in a failover (asynchronous replication; Jepsen
showed it), so the promoted replica may have forgotten admissions and admit too many. Seats are
won only by Postgres's conditional update of the activity's confirmed count, which refuses the
excess `sold_out`. The test makes the loss certain (the new primary forgets every admission, as
the worst replication window would) and shows Postgres holds the line anyway.
"""

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from datastore.schema import Entry
from entry_service.adapters.redis_gate_scripts import activity_keys
from tests.support.entries import add_activity, confirmed_count, seed_shop
from tests.support.entry_spike import Spike, entry_spike, resolve
from tests.support.fault_deployment import deployment, wait_until
from tests.support.replicated_stack import ReplicatedStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

CAPACITY = 30
SHOPPERS = 300  # and 33 of them try twice: 333 attempts


def test_the_redis_primary_killed_mid_spike_over_books_nothing(
    healthy: ReplicatedStack, tmp_path: Path
) -> None:
    with deployment(tmp_path, healthy.pulse_env(), entry_processes=2) as pulse:
        shop = seed_shop(pulse.db)
        activity = add_activity(pulse.db, shop.campaign_id, capacity=CAPACITY)
        entry = [s.url for n, s in pulse.services.items() if n.startswith("entry")]
        users = [f"u{i}" for i in range(SHOPPERS)] + [f"u{i}" for i in range(SHOPPERS // 9)]
        old_primary = healthy.redis_primary_port()
        seen: dict[str, int] = {}

        def fault(spike: Spike, done: int) -> None:
            if done == len(users) // 4:
                spike.marks.append(f"killed {healthy.kill_redis_primary()}")
            elif done == len(users) // 2:
                # The Sentinels notice within 2 s, then elect: wait for the promotion.
                wait_until(lambda: healthy.redis_primary_port() != old_primary, 30, "the failover")
                promoted = healthy.redis_primary_port()
                seen["confirmed when forgotten"] = confirmed_count(pulse.db, activity)
                forget_admissions(promoted, activity)
                spike.marks.append("promoted replica forgot the admissions")

        started = time.monotonic()
        spike = asyncio.run(entry_spike(entry, activity, users, fault))
        assert len(spike.marks) == 2, spike.marks
        spiked = time.monotonic()
        final = asyncio.run(resolve(entry, spike.answers, within_s=60))
        timings = f"spike {spiked - started:.0f} s, resolve {time.monotonic() - spiked:.0f} s"
        statuses = Counter(a["status"] for a in final.values())
        # Demand filled every seat, and not one more: from the shoppers' answers and Postgres.
        assert statuses["confirmed"] == CAPACITY, (statuses, timings)
        assert confirmed_count(pulse.db, activity) == CAPACITY
        with pulse.db.reader() as s:
            rows = dict(
                s.execute(select(Entry.id, Entry.status).where(Entry.activity_id == activity)).all()
            )
        # No confirmed entry lost: each one a shopper was told of is confirmed in Postgres.
        told = {uuid.UUID(i) for i, a in final.items() if a["status"] == "confirmed"}
        assert {rows.get(i) for i in told} == {"confirmed"}
        assert sum(1 for status in rows.values() if status == "confirmed") == CAPACITY
        # The forgotten admissions let Redis admit more than the seats: Postgres refused them.
        since_forgotten = admissions(healthy.redis_primary_port(), activity)
        over = seen["confirmed when forgotten"] + since_forgotten - CAPACITY
        assert over > 0, f"Redis over-admitted nothing ({seen}, {since_forgotten}): no guard shown"


def admissions(port: int, activity: uuid.UUID) -> int:
    """The gate's counter: admissions since it was last set (refusals never decrement it)."""
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        return int(client.get(activity_keys(activity)[0]) or 0)
    finally:
        client.close()


def forget_admissions(port: int, activity: uuid.UUID) -> None:
    """The new primary loses the admissions it had replicated: its count is set back to 0."""
    count_key = activity_keys(activity)[0]
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        client.set(count_key, 0, keepttl=True)
    finally:
        client.close()
