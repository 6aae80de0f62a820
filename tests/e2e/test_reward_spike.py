"""Reward spikes on the full stack: two entry_service processes, one core_service (the hold
sweeper and the payment webhook), real Redis, Kafka and Postgres.

- 5,000 shoppers for 200 products: a first wave of 4,000, during which the payment provider
  (a thread) pays at most 100 holds while the other 15-second holds expire (a slow wave re-wins
  some of those units within itself); a second wave of 1,000 wins every unit released, and the
  provider pays them. Sampled all along, held plus paid never passes 200; at the end every
  paid unit is one verified payment, every win is a paid or an expired hold, and a payment
  for an expired hold is refused.
- 1,100 shoppers for a coupon activity of 1,000 codes: 1,000 distinct codes, one per winner.
- A pool of 900 for a capacity of 1,000 reports a shortfall of 100.

The figures (throughput, time until the last shopper has a final answer) are logged at INFO
(`-o log_cli=true --log-cli-level=INFO`) for docs/benchmarks.md.
"""

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from common_messaging.bus import BusSettings, prepare_bus
from datastore.engine import make_engine
from datastore.schema import CouponCode, Entry, PaymentRecord, Purchase, RewardHold
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
from tests.support.entries import Shop, add_activity, confirmed_count, seed_shop, token
from tests.support.payments import WEBHOOK_SECRET, payment_event, signed
from tests.support.shopper_retry import send_as_shopper

pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

log = logging.getLogger(__name__)
ADMIN = "adm-reward-spike"
STOCK = 200
# Long enough for a winner to pay on a loaded machine, short enough to expire within the test.
HOLD_TTL_S = 15


@dataclass
class Stack:
    entries: list[str]
    core: str
    db: Database
    shop: Shop

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        return httpx.request(method, f"{self.core}{path}", headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("reward-spike")
    run = uuid.uuid4().hex[:8]
    with scratch_postgres_database() as url, ExitStack() as exits:
        upgrade(url)
        env = untraced(
            clean_env(
                {
                    "PULSE_DATABASE_URL": url,
                    "PULSE_KAFKA_BOOTSTRAP_SERVERS": engine_url("kafka"),
                    "PULSE_KAFKA_TOPIC_PREFIX": f"rspike-{run}.",
                    "PULSE_REDIS_URL": engine_url("redis"),
                    "PULSE_DATA_DIR": str(tmp / "data"),
                    "PULSE_ADMIN_TOKEN": ADMIN,
                    "PULSE_CONSUMER_GROUP": f"core-{run}",
                    "PULSE_ENTRIES_CONSUMER_GROUP": f"entries-{run}",
                    "PULSE_ENTRY_RATE_LIMIT_PER_IP": "1000000",
                    "PULSE_ENTRY_RATE_LIMIT_PER_USER": "1000",
                    "PULSE_HOLD_SWEEP_INTERVAL_S": "0.5",
                    "PULSE_LOG_LEVEL": "WARNING",
                }
            )
        )
        prepare_bus(
            BusSettings(
                kafka_bootstrap_servers=engine_url("kafka"),
                kafka_topic_prefix=f"rspike-{run}.",
                kafka_partitions=2,
            )
        )
        core_port, *entry_ports = free_ports(3)
        urls = []
        for i, (name, port) in enumerate(
            [("core", core_port)] + [("entry", p) for p in entry_ports]
        ):
            logfile = tmp / f"{name}-{i}.log"
            args = [PULSE, name, "--host", "127.0.0.1", "--port", str(port)]
            proc = exits.enter_context(process(args, env, logfile))
            wait_ready(f"http://127.0.0.1:{port}", proc, logfile, timeout_s=60)
            urls.append(f"http://127.0.0.1:{port}")
        db = Database(make_engine(url))
        shop = seed_shop(db)
        # One line per request of a spike would drown the figures (and cost the client CPU).
        httpx_logger = logging.getLogger("httpx")
        exits.callback(httpx_logger.setLevel, httpx_logger.level)
        httpx_logger.setLevel(logging.WARNING)
        stack = Stack(urls[1:], urls[0], db, shop)
        assert stack.admin(
            "PUT", f"/v1/sites/{shop.site_id}/payment-webhook", json={"secret": WEBHOOK_SECRET}
        ).is_success
        try:
            yield stack
        finally:
            db.dispose()


@dataclass
class Wave:
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> final answer
    seconds_to_last_answer: float = 0.0


async def _wave(stack: Stack, activity: uuid.UUID, users: list[str]) -> Wave:
    """Every user enters at once (bounded in flight) and polls until the answer is final."""
    wave = Wave()
    tokens = {u: token(u, ttl=timedelta(minutes=30)) for u in users}
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    # A connection may be waited for as long as the spike lasts (a loaded CI machine).
    timeout = httpx.Timeout(60, pool=None)
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=timeout) for u in stack.entries]
    in_flight = asyncio.Semaphore(500)
    started = time.monotonic()

    async def one(i: int, user: str) -> None:
        client = clients[i % len(clients)]
        # The whole shopper (entry and polls) holds a slot: polls never crowd the pool.
        async with in_flight:
            key = str(uuid.uuid4())
            response = await send_as_shopper(
                lambda: client.post(
                    f"/v1/activities/{activity}/entries",
                    json={"user_token": tokens[user]},
                    headers={"Idempotency-Key": key},
                )
            )
            assert response.status_code == 202, response.text
            answer = response.json()
            while answer["status"] == "reserved":
                await asyncio.sleep(0.5)
                poll = partial(client.get, f"/v1/entries/{answer['entry_id']}")
                answer = (await send_as_shopper(poll)).json()
            wave.answers[user] = answer
            elapsed = time.monotonic() - started
            wave.seconds_to_last_answer = max(wave.seconds_to_last_answer, elapsed)

    try:
        await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))
    finally:
        for client in clients:
            await client.aclose()
    return wave


class Payer:
    """The payment provider, on a thread of its own: every half second it pays holds of the
    activity that are still held (with a few seconds left), through the signed webhook, until
    `budget` payments went through. Independent of how fast the shoppers' client runs."""

    def __init__(self, stack: Stack, activity: uuid.UUID, price: int, budget: int) -> None:
        self.paid: dict[str, str] = {}  # entry id -> payment id, answered 200 `paid`
        self.late: list[str] = []  # answered 409 hold_expired: refused, not sold
        self._stack, self._activity, self._price, self._budget = stack, activity, price, budget
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Payer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        with httpx.Client(base_url=self._stack.core, timeout=60) as client:
            while not self._stop.wait(0.5) and len(self.paid) < self._budget:
                with self._stack.db.reader() as s:
                    held = s.scalars(
                        select(RewardHold.entry_id)
                        .where(
                            RewardHold.activity_id == self._activity,
                            RewardHold.status == "held",
                            RewardHold.expires_at > datetime.now(UTC) + timedelta(seconds=3),
                        )
                        .order_by(RewardHold.expires_at)
                        .limit(self._budget - len(self.paid))
                    ).all()
                for entry_id in held:
                    body = payment_event(self._stack.shop.site_id, entry_id, self._price, "EUR")
                    answer = client.post("/v1/payments/webhook", content=body, headers=signed(body))
                    if answer.status_code == 409:
                        assert answer.json()["error"]["code"] == "hold_expired", answer.text
                        self.late.append(str(entry_id))
                    else:
                        assert answer.status_code == 200, answer.text
                        self.paid[str(entry_id)] = answer.json()["payment_id"]


class HoldSampler:
    """Counts held and paid units of the activity every 50 ms, on a thread of its own."""

    def __init__(self, db: Database, activity: uuid.UUID) -> None:
        self.samples: list[int] = []
        self._db, self._activity = db, activity
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "HoldSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            with self._db.reader() as s:
                taken = s.scalar(
                    select(func.count())
                    .select_from(RewardHold)
                    .where(
                        RewardHold.activity_id == self._activity,
                        RewardHold.status.in_(["held", "paid"]),
                    )
                )
            self.samples.append(int(taken or 0))


def _holds(db: Database, activity: uuid.UUID) -> dict[str, int]:
    with db.reader() as s:
        rows = s.execute(
            select(RewardHold.status, func.count())
            .where(RewardHold.activity_id == activity)
            .group_by(RewardHold.status)
        ).all()
    return {status: int(n) for status, n in rows}


def _figures(name: str, waves: list[Wave], seconds: float) -> None:
    """Per wave: shoppers, seconds until the last one had a final answer (confirmed or
    rejected; winners' payments included), and shoppers per second over that time."""
    for i, wave in enumerate(waves, 1):
        log.info(
            "reward_spike name=%s wave=%d shoppers=%d last_final_answer_s=%.1f per_s=%.0f",
            name,
            i,
            len(wave.answers),
            wave.seconds_to_last_answer,
            len(wave.answers) / wave.seconds_to_last_answer,
        )
    log.info("reward_spike name=%s total_s=%.1f", name, seconds)


def _until_no_hold_is_held(db: Database, activity: uuid.UUID) -> dict[str, int]:
    deadline = time.monotonic() + HOLD_TTL_S + 60
    while (holds := _holds(db, activity)).get("held", 0):
        assert time.monotonic() < deadline, f"holds never expired: {holds}"
        time.sleep(0.5)
    return holds


def test_five_thousand_shoppers_for_two_hundred_products(stack: Stack) -> None:
    activity = add_activity(stack.db, stack.shop.campaign_id, capacity=None)
    product = {"kind": "product", "price_minor": 12900, "currency": "EUR", "stock": STOCK}
    assert stack.admin(
        "PUT", f"/v1/activities/{activity}/reward", json={**product, "hold_ttl_s": HOLD_TTL_S}
    ).is_success
    first = [f"early-{i}" for i in range(4_000)]
    second = [f"late-{i}" for i in range(1_000)]
    started = time.monotonic()
    with HoldSampler(stack.db, activity) as sampler:
        # During the first wave at most 100 holds are paid; the others expire and are re-won.
        with Payer(stack, activity, 12900, budget=100) as payer1:
            wave1 = run_untraced(_wave(stack, activity, first))
        after1 = _until_no_hold_is_held(stack.db, activity)
        released = STOCK - after1.get("paid", 0)
        assert released > 0 and confirmed_count(stack.db, activity) == STOCK - released
        with Payer(stack, activity, 12900, budget=released) as payer2:
            wave2 = run_untraced(_wave(stack, activity, second))
            deadline = time.monotonic() + HOLD_TTL_S + 30
            while _holds(stack.db, activity).get("held", 0) and time.monotonic() < deadline:
                time.sleep(0.5)  # the payer settles the last holds of the wave
        holds = _until_no_hold_is_held(stack.db, activity)
    _figures("products", [wave1, wave2], time.monotonic() - started)

    answers = [a for w in (wave1, wave2) for a in w.answers.values()]
    assert len(answers) == 5_000
    assert {a["status"] for a in answers} == {"confirmed", "rejected"}
    assert {a.get("reason") for a in answers if a["status"] == "rejected"} == {"sold_out"}
    won2 = [a for a in wave2.answers.values() if a["status"] == "confirmed"]
    assert len(won2) >= released  # every unit released after wave 1 was won again
    assert sampler.samples and max(sampler.samples) <= STOCK, max(sampler.samples)
    assert len(sampler.samples) > 20

    # Every win is a hold that ended paid or expired; paid ones are the verified payments.
    verified = {**payer1.paid, **payer2.paid}
    won = sum(1 for a in answers if a["status"] == "confirmed")
    assert 0 < holds.get("paid", 0) == len(verified) <= STOCK
    assert holds.get("paid", 0) + holds.get("expired", 0) == won > STOCK  # units were re-won
    # A payment for a hold that expired is refused: no unit is sold twice.
    with stack.db.reader() as s:
        expired = s.scalar(
            select(RewardHold.entry_id)
            .where(RewardHold.activity_id == activity, RewardHold.status == "expired")
            .limit(1)
        )
    body = payment_event(stack.shop.site_id, str(expired), 12900, "EUR")
    late = httpx.post(f"{stack.core}/v1/payments/webhook", content=body, headers=signed(body))
    assert late.status_code == 409 and late.json()["error"]["code"] == "hold_expired"
    with stack.db.reader() as s:
        paid_rows = dict(
            s.execute(
                select(RewardHold.entry_id, RewardHold.payment_id).where(
                    RewardHold.activity_id == activity, RewardHold.status == "paid"
                )
            ).all()
        )
        purchases = s.execute(
            select(Purchase.order_id).where(
                Purchase.activity_id == activity, Purchase.trusted.is_(True)
            )
        ).all()
        records = s.scalar(
            select(func.count())
            .select_from(PaymentRecord)
            .where(PaymentRecord.outcome == "paid", PaymentRecord.payment_id.in_(verified.values()))
        )
    # Every paid unit is exactly one verified payment, and one trusted purchase.
    assert {str(e): p for e, p in paid_rows.items()} == verified
    assert sorted(o for (o,) in purchases) == sorted(verified.values())
    assert records == len(verified)
    assert confirmed_count(stack.db, activity) == len(verified)


def test_a_coupon_spike_gives_one_thousand_distinct_codes(stack: Stack) -> None:
    activity = add_activity(stack.db, stack.shop.campaign_id, capacity=1_000)
    assert stack.admin(
        "PUT", f"/v1/activities/{activity}/reward", json={"kind": "coupon"}
    ).is_success
    codes = [f"SPIKE-{i:05d}" for i in range(1_000)]
    upload = stack.admin("POST", f"/v1/activities/{activity}/coupons", json={"codes": codes})
    assert upload.status_code == 201, upload.text
    started = time.monotonic()
    wave = run_untraced(_wave(stack, activity, [f"coupon-{i}" for i in range(1_100)]))
    _figures("coupons", [wave], time.monotonic() - started)

    won = {u: a["entry_id"] for u, a in wave.answers.items() if a["status"] == "confirmed"}
    assert len(won) == 1_000
    with stack.db.reader() as s:
        issued = s.execute(
            select(CouponCode.code, CouponCode.entry_id).where(
                CouponCode.activity_id == activity, CouponCode.entry_id.is_not(None)
            )
        ).all()
        winners = set(
            s.scalars(
                select(Entry.id).where(Entry.activity_id == activity, Entry.status == "confirmed")
            )
        )
    assert len({c for c, _ in issued}) == 1_000  # distinct codes
    assert {e for _, e in issued} == winners  # each to one winner, every winner one code
    # A sample of winners read their own code through the API.
    by_entry = {str(e): c for c, e in issued}
    with httpx.Client(base_url=stack.entries[0], timeout=30) as client:
        for user, entry_id in list(won.items())[:25]:
            body = client.get(
                f"/v1/entries/{entry_id}", headers={"Authorization": f"Bearer {token(user)}"}
            ).json()
            assert body["reward"] == {
                "kind": "coupon",
                "status": "issued",
                "code": by_entry[entry_id],
            }
    report = stack.admin("GET", f"/v1/activities/{activity}/reward").json()["pool"]
    assert (report["issued"], report["remaining"], report["shortfall"]) == (1_000, 0, 0)


def test_a_pool_of_nine_hundred_for_one_thousand_reports_the_shortfall(stack: Stack) -> None:
    activity = add_activity(stack.db, stack.shop.campaign_id, capacity=1_000)
    assert stack.admin(
        "PUT", f"/v1/activities/{activity}/reward", json={"kind": "coupon"}
    ).is_success
    generated = stack.admin(
        "POST",
        f"/v1/activities/{activity}/coupons",
        json={"generate": {"count": 900, "pattern": "DROP-XXXX-XXXX"}},
    )
    assert generated.status_code == 201, generated.text
    pool = stack.admin("GET", f"/v1/activities/{activity}/reward").json()["pool"]
    assert (pool["size"], pool["remaining"], pool["shortfall"]) == (900, 900, 100)
