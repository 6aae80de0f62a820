"""Campaign openings on the full stack: two entry_service processes, one core_service, real
Redis, Kafka and Postgres. Spikes of concurrent entries end with exactly `capacity` winners,
no duplicates and an answer for every request. Redis losing its data mid-spike (killed,
flushed, away) is in test_entry_records_spike.py, on a redis-server of its own.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select

from common_messaging.bus import BusSettings, prepare_bus
from datastore.engine import make_engine
from datastore.schema import Entry
from migrations.runner import upgrade
from servicekit.database import Database
from tests.e2e.process import (
    PULSE,
    clean_env,
    free_ports,
    process,
    run_untraced,
    untraced,
    wait_ready,
)
from tests.engines import engine_url, scratch_postgres_database
from tests.support.entries import (
    Shop,
    add_activity,
    confirmed,
    confirmed_count,
    seed_shop,
    token,
)
from tests.support.shopper_retry import enter_as_shopper

# Spikes of thousands of requests against real processes: minutes on a small machine.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

# A Redis database of its own, so these keys stay apart from other tests' keys.
SPIKE_REDIS_DB = 7


@dataclass
class Opening:
    entries: list[str]
    db: Database
    shop: Shop
    redis: redis.Redis


@pytest.fixture(scope="module")
def opening(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opening]:
    tmp = tmp_path_factory.mktemp("spike")
    run = uuid.uuid4().hex[:8]
    redis_url = engine_url("redis").rsplit("/", 1)[0] + f"/{SPIKE_REDIS_DB}"
    with scratch_postgres_database() as url, ExitStack() as stack:
        upgrade(url)
        env = untraced(
            clean_env(
                {
                    "PULSE_DATABASE_URL": url,
                    "PULSE_KAFKA_BOOTSTRAP_SERVERS": engine_url("kafka"),
                    "PULSE_KAFKA_TOPIC_PREFIX": f"spike-{run}.",
                    "PULSE_REDIS_URL": redis_url,
                    "PULSE_DATA_DIR": str(tmp / "data"),
                    "PULSE_ADMIN_TOKEN": "adm-spike",
                    "PULSE_CONSUMER_GROUP": f"core-{run}",
                    "PULSE_ENTRIES_CONSUMER_GROUP": f"entries-{run}",
                    "PULSE_ENTRY_RATE_LIMIT_PER_IP": "1000000",
                    "PULSE_ENTRY_RATE_LIMIT_PER_USER": "1000",
                    "PULSE_LOG_LEVEL": "WARNING",
                }
            )
        )
        prepare_bus(
            BusSettings(
                kafka_bootstrap_servers=engine_url("kafka"),
                kafka_topic_prefix=f"spike-{run}.",
                kafka_partitions=2,
            )
        )
        # All three in one call: ports taken one call at a time may be handed out twice.
        core_port, *entry_ports = free_ports(3)
        services = [("core", core_port)] + [("entry", p) for p in entry_ports]
        urls = []
        for i, (name, port) in enumerate(services):
            log = tmp / f"{name}-{i}.log"
            args = [PULSE, name, "--host", "127.0.0.1", "--port", str(port)]
            proc = stack.enter_context(process(args, env, log))
            wait_ready(f"http://127.0.0.1:{port}", proc, log, timeout_s=60)
            if name == "entry":
                urls.append(f"http://127.0.0.1:{port}")
        db = Database(make_engine(url))
        client = redis.Redis.from_url(redis_url)
        try:
            yield Opening(urls, db, seed_shop(db), client)
        finally:
            client.close()
            db.dispose()


async def _spike(
    opening: Opening,
    activity: uuid.UUID,
    users: list[str],
    keys: list[str] | None = None,
) -> list[dict[str, Any]]:
    """All requests at once, spread over the entry processes; all the answers.

    The requests share 500 connections (250 per process), the way a load balancer's pool
    would; the semaphore keeps httpx's pool queue short (its queue scans are quadratic).
    """
    # Minted before the spike and used until its last request: on a loaded machine (or under
    # coverage) a spike has taken more than the default 5 minutes, and expired tokens are 401s.
    tokens = {u: token(u, ttl=timedelta(minutes=30)) for u in set(users)}
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    clients = [
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) for url in opening.entries
    ]
    in_flight = asyncio.Semaphore(1_000)

    async def one(i: int, user: str) -> dict[str, Any]:
        client = clients[i % len(clients)]
        key = keys[i] if keys else str(uuid.uuid4())
        async with in_flight:
            response = await enter_as_shopper(client, activity, tokens[user], key)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    try:
        return await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))
    finally:
        for client in clients:
            await client.aclose()


def _final(opening: Opening, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resolve `reserved` answers through GET, as a shopper's page would."""
    final = []
    with httpx.Client(base_url=opening.entries[0], timeout=10) as client:
        for answer in answers:
            deadline = time.monotonic() + 60
            while answer["status"] == "reserved":
                assert time.monotonic() < deadline, f"never decided: {answer}"
                time.sleep(0.2)
                answer = client.get(f"/v1/entries/{answer['entry_id']}").json()
            final.append(answer)
    return final


def test_ten_thousand_concurrent_entries_for_one_hundred_seats(opening: Opening) -> None:
    activity = add_activity(opening.db, opening.shop.campaign_id, capacity=100)
    # 9,000 shoppers, 1,000 of whom try twice (with a new idempotency key each time).
    users = [f"shopper-{i}" for i in range(9_000)] + [f"shopper-{i}" for i in range(1_000)]
    answers = _final(opening, run_untraced(_spike(opening, activity, users)))

    assert len(answers) == 10_000  # every request answered
    won = [a for a in answers if a["status"] == "confirmed"]
    assert len(won) == 100
    assert {a["status"] for a in answers} == {"confirmed", "rejected"}
    assert {a.get("reason") for a in answers if a["status"] == "rejected"} <= {
        "sold_out",
        "already_entered",
    }
    ledger = confirmed(opening.db, activity)
    assert len(ledger) == 100 == confirmed_count(opening.db, activity)
    assert len({user for user, _ in ledger}) == 100  # no duplicates
    assert sorted(p for _, p in ledger) == list(range(1, 101))
    assert {a["entry_id"] for a in won} == _confirmed_ids(opening, activity)


def test_same_user_retrying_concurrently_never_exceeds_the_limit(opening: Opening) -> None:
    activity = add_activity(opening.db, opening.shop.campaign_id, capacity=100)
    users = ["eager"] * 60
    keys = ["same-key"] * 30 + [f"key-{i}" for i in range(30)]
    answers = _final(opening, run_untraced(_spike(opening, activity, users, keys)))

    assert confirmed(opening.db, activity) == [("eager", 1)]
    won = {a["entry_id"] for a in answers if a["status"] == "confirmed"}
    assert len(won) == 1
    same_key = [a for a, k in zip(answers, keys, strict=True) if k == "same-key"]
    # The same key always names the same entry, unless another key of the user won first.
    assert len({a["entry_id"] for a in same_key if a["status"] == "confirmed"}) <= 1
    assert all(a["status"] == "confirmed" or a.get("reason") == "already_entered" for a in answers)


def _confirmed_ids(opening: Opening, activity: uuid.UUID) -> set[str]:
    with opening.db.reader() as s:
        rows = s.scalars(
            select(Entry.id).where(Entry.activity_id == activity, Entry.status == "confirmed")
        ).all()
    return {str(r) for r in rows}
