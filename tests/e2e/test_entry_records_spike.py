"""Entry ids are durable records under Redis faults, on the full stack: two entry_service
processes and core_service (real Kafka and Postgres) gate on a redis-server of the test's own,
which the tests kill (-9) and restart, flush, or keep away for a whole spike.

For every spike: no over-booking; every POST answered 202 with an entry id; every entry id
answered resolves through GET (never a 404) to `confirmed` or `rejected` within a bounded
time, never contradicting a final answer; and the counts of each match Postgres.
"""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select

from common_messaging.bus import BusSettings, prepare_bus
from datastore.engine import make_engine
from datastore.schema import Entry
from entry_service.adapters.redis_gate_scripts import activity_keys
from migrations.runner import upgrade
from servicekit.database import Database
from tests.e2e.process import PULSE, clean_env, free_ports, process, run_untraced, wait_ready
from tests.engines import engine_url, scratch_postgres_database
from tests.support.entries import Shop, add_activity, confirmed_count, seed_shop, token
from tests.support.own_redis import OwnRedis
from tests.support.shopper_retry import Retry, enter_as_shopper

# A spike of a few thousand entries takes a minute or two on a busy 2-core machine.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(420),
]

# 2,400 entries per spike (2,000 shoppers, 400 of whom try twice) for 30 seats.
SHOPPERS = 2000
CAPACITY = 30
RESOLVE_WITHIN_S = 30.0  # `reserved` must end within this, after the spike's last answer


@dataclass
class Opening:
    entries: list[str]
    db: Database
    shop: Shop
    redis: OwnRedis


@dataclass
class Spike:
    answers: list[dict[str, Any]]
    retries: int = 0  # dropped connections (a shed 503 took nothing, so it is not counted)
    events: list[str] = field(default_factory=list)

    def count_retry(self, kind: Retry) -> None:
        if kind == "dropped":
            self.retries += 1


@pytest.fixture(scope="module")
def opening(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opening]:
    tmp = tmp_path_factory.mktemp("records")
    run = uuid.uuid4().hex[:8]
    own = OwnRedis(tmp / "redis")
    own.start()
    with scratch_postgres_database() as url, ExitStack() as stack:
        stack.callback(own.stop)
        upgrade(url)
        env = clean_env(
            {
                "PULSE_DATABASE_URL": url,
                "PULSE_KAFKA_BOOTSTRAP_SERVERS": engine_url("kafka"),
                "PULSE_KAFKA_TOPIC_PREFIX": f"records-{run}.",
                "PULSE_REDIS_URL": own.url,
                "PULSE_DATA_DIR": str(tmp / "data"),
                "PULSE_ADMIN_TOKEN": "adm-records",
                "PULSE_CONSUMER_GROUP": f"core-{run}",
                "PULSE_ENTRIES_CONSUMER_GROUP": f"entries-{run}",
                "PULSE_ENTRY_RATE_LIMIT_PER_IP": "1000000",
                "PULSE_ENTRY_RATE_LIMIT_PER_USER": "1000",
                "PULSE_LOG_LEVEL": "WARNING",
            }
        )
        prepare_bus(
            BusSettings(
                kafka_bootstrap_servers=engine_url("kafka"),
                kafka_topic_prefix=f"records-{run}.",
                kafka_partitions=2,
            )
        )
        services = [("core", p) for p in free_ports(1)] + [("entry", p) for p in free_ports(2)]
        urls = []
        for i, (name, port) in enumerate(services):
            log = tmp / f"{name}-{i}.log"
            args = [PULSE, name, "--host", "127.0.0.1", "--port", str(port)]
            proc = stack.enter_context(process(args, env, log))
            wait_ready(f"http://127.0.0.1:{port}", proc, log, timeout_s=60)
            if name == "entry":
                urls.append(f"http://127.0.0.1:{port}")
        db = Database(make_engine(url))
        try:
            yield Opening(urls, db, seed_shop(db), own)
        finally:
            db.dispose()


def test_redis_killed_and_restarted_mid_spike(opening: Opening) -> None:
    activity = add_activity(opening.db, opening.shop.campaign_id, capacity=CAPACITY)

    def fault(spike: Spike, done: int, total: int) -> None:
        if done == total // 3:
            opening.redis.kill9()
            spike.events.append("killed")
        elif done == 2 * total // 3:
            opening.redis.start()  # the same port, empty: the counters are rebuilt from Postgres
            spike.events.append("restarted")

    spike = run_untraced(_spike(opening, activity, "kill", fault))

    assert spike.events == ["killed", "restarted"]
    _check(opening, activity, spike)


def test_redis_flushed_mid_spike(opening: Opening) -> None:
    activity = add_activity(opening.db, opening.shop.campaign_id, capacity=CAPACITY)

    def fault(spike: Spike, done: int, total: int) -> None:
        if done == total // 3:
            opening.redis.flush()
            spike.events.append("flushed")

    spike = run_untraced(_spike(opening, activity, "flush", fault))

    assert spike.events == ["flushed"]
    _check(opening, activity, spike)
    # The counters were rebuilt from Postgres and hold the line again.
    client = redis.Redis.from_url(opening.redis.url)
    try:
        count = client.get(activity_keys(activity)[0])
    finally:
        client.close()
    assert count is not None and int(count) <= CAPACITY
    late = run_untraced(_spike(opening, activity, "late", shoppers=1)).answers
    assert [(a["status"], a.get("reason")) for a in late] == [("rejected", "sold_out")]


def test_redis_unreachable_for_the_whole_spike(opening: Opening) -> None:
    activity = add_activity(opening.db, opening.shop.campaign_id, capacity=CAPACITY)
    opening.redis.kill9()
    try:
        spike = run_untraced(_spike(opening, activity, "away"))
    finally:
        opening.redis.start()

    # The SQL fallback decided every attempt in the request: nothing was left `reserved`.
    assert {a["status"] for a in spike.answers} == {"confirmed", "rejected"}
    _check(opening, activity, spike)


async def _spike(
    opening: Opening,
    activity: uuid.UUID,
    prefix: str,
    fault: Callable[[Spike, int, int], None] | None = None,
    *,
    shoppers: int = SHOPPERS,
) -> Spike:
    """All attempts at once over both entry processes; `fault` is called as answers come in."""
    users = [f"{prefix}-{i}" for i in range(shoppers)] + [
        f"{prefix}-{i}" for i in range(shoppers // 5)
    ]
    tokens = {u: token(u) for u in set(users)}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=60) for u in opening.entries]
    spike = Spike([])
    in_flight = asyncio.Semaphore(400)
    done = 0

    async def one(i: int, user: str) -> dict[str, Any]:
        nonlocal done
        key = str(uuid.uuid4())
        async with in_flight:
            response = await enter_as_shopper(
                clients[i % len(clients)], activity, tokens[user], key, spike.count_retry
            )
        done += 1
        if fault is not None:
            fault(spike, done, len(users))
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    try:
        spike.answers = list(await asyncio.gather(*(one(i, u) for i, u in enumerate(users))))
    finally:
        for client in clients:
            await client.aclose()
    return spike


def _check(opening: Opening, activity: uuid.UUID, spike: Spike) -> None:
    final = run_untraced(_resolve(opening, spike.answers))
    statuses = Counter(a["status"] for a in final.values())
    assert set(statuses) <= {"confirmed", "rejected"}
    assert statuses["confirmed"] == CAPACITY  # no over-booking, and demand filled every seat
    assert {a.get("reason") for a in final.values() if a["status"] == "rejected"} <= {
        "sold_out",
        "already_entered",
    }
    ledger = _ledger(opening.db, activity)
    assert confirmed_count(opening.db, activity) == CAPACITY
    # Every answered entry id is a row with the very decision the shopper ends up seeing.
    answered = {uuid.UUID(i): (a["status"], a.get("reason")) for i, a in final.items()}
    assert {i: ledger.get(i) for i in answered} == answered
    in_ledger = Counter(status for status, _ in ledger.values())
    if spike.retries == 0:  # a dropped answer's attempt may be a row no shopper holds
        assert set(ledger) == set(answered)
        assert in_ledger == statuses
    assert in_ledger["confirmed"] == CAPACITY


async def _resolve(opening: Opening, answers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """GET every entry id until it is final; never a 404, never a change of a final answer."""
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + RESOLVE_WITHIN_S
    gets = asyncio.Semaphore(64)
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in opening.entries]
    try:

        async def resolve(n: int, posted: dict[str, Any]) -> None:
            entry_id = posted["entry_id"]
            while True:
                async with gets:  # every process answers for every entry id
                    response = await clients[n % 2].get(f"/v1/entries/{entry_id}")
                assert response.status_code == 200, (posted, response.text)
                state = response.json()
                assert state["entry_id"] == entry_id
                if posted["status"] != "reserved":  # a final answer never changes
                    assert (state["status"], state.get("reason")) == (
                        posted["status"],
                        posted.get("reason"),
                    ), (posted, state)
                if state["status"] != "reserved":
                    final[entry_id] = state
                    return
                assert time.monotonic() < deadline, f"still reserved: {posted}"
                await asyncio.sleep(0.2)

        await asyncio.gather(*(resolve(n, a) for n, a in enumerate(answers)))
    finally:
        for client in clients:
            await client.aclose()
    assert len(final) == len(answers), "two answers carried the same entry id"
    return final


def _ledger(db: Database, activity: uuid.UUID) -> dict[uuid.UUID, tuple[str, str | None]]:
    with db.reader() as s:
        rows = s.execute(
            select(Entry.id, Entry.status, Entry.reason).where(Entry.activity_id == activity)
        ).all()
    return {i: (status, reason) for i, status, reason in rows}
