"""Rewards, one contract for every world: the embedded default (SQLite, and the same on
Postgres) and the full stack (Redis gate, Kafka, core_service deciding in Postgres).

A coupon pool gives each winner one distinct code and reports a shortfall; a product win is
a hold that expires unless paid (the unit is then won by the next shopper, through the gate
and the Postgres guard); the payment provider's signed webhook settles a hold once, at the
server's price, into a trusted purchase.
"""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, update

from common_messaging.bus import BusSettings, prepare_bus
from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from datastore.schema import Purchase, RewardHold, UserSummary, WebhookEvent
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from migrations.runner import upgrade
from servicekit.database import Database
from tests.engines import engine_url, scratch_postgres_database
from tests.support.entries import Shop, add_activity, confirmed_count, seed_shop, token
from tests.support.payments import WEBHOOK_SECRET, payment_event, signed

ADMIN = "adm-rewards-contract"


@dataclass
class World:
    entry: TestClient
    core: TestClient
    db: Database
    shop: Shop

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN}", **kwargs.pop("headers", {})}
        return self.core.request(method, path, headers=headers, **kwargs)

    def win(self, activity: uuid.UUID, user: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.entry.post(
            f"/v1/activities/{activity}/entries",
            json={"user_token": token(user)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ).json()
        for _ in range(100):
            if answer["status"] != "reserved":
                return answer
            time.sleep(0.1)
            answer = self.entry.get(f"/v1/entries/{answer['entry_id']}").json()
        raise AssertionError(f"still reserved: {answer}")

    def reward_seen_by(self, entry_id: str, user: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token(user)}"} if user else {}
        body = self.entry.get(f"/v1/entries/{entry_id}", headers=headers).json()
        return body.get("reward")

    def pay(self, body: bytes, headers: dict[str, str] | None = None) -> Any:
        return self.core.post("/v1/payments/webhook", content=body, headers=headers or signed(body))


def _settings(tmp: Path, url: str, **extra: Any) -> tuple[CoreSettings, EntrySettings]:
    core = CoreSettings(
        data_dir=tmp,
        database_url=url,
        admin_token=SecretStr(ADMIN),
        hold_sweep_interval_s=0.2,
        **extra.get("core", {}),
    )
    entry = EntrySettings(
        data_dir=tmp,
        database_url=url,
        entry_rate_limit_per_user=1000,
        entry_rate_limit_per_ip=100_000,
        **extra.get("entry", {}),
    )
    return core, entry


@pytest.fixture(
    params=[
        "embedded-sqlite",
        pytest.param("embedded-postgres", marks=pytest.mark.integration),
        pytest.param("redis-kafka-postgres", marks=pytest.mark.integration),
    ]
)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "embedded-sqlite":
        url = f"sqlite:///{tmp_path / 'pulse.sqlite3'}"
        upgrade(url)
        yield from _world(tmp_path, url, {})
        return
    with scratch_postgres_database() as url:
        upgrade(url)
        if request.param == "embedded-postgres":
            yield from _world(tmp_path, url, {})
            return
        run = uuid.uuid4().hex[:8]
        kafka, redis_url = engine_url("kafka"), engine_url("redis")
        prefix = f"rewards-{run}."
        prepare_bus(
            BusSettings(
                kafka_bootstrap_servers=kafka, kafka_topic_prefix=prefix, kafka_partitions=2
            )
        )
        bus = {
            "kafka_bootstrap_servers": kafka,
            "kafka_topic_prefix": prefix,
            "redis_url": redis_url,
        }
        extra = {
            "core": {**bus, "consumer_group": f"c-{run}", "entries_consumer_group": f"e-{run}"},
            "entry": {**bus, "entry_confirm_wait_s": 5.0},
        }
        yield from _world(tmp_path, url, extra)


def _world(tmp: Path, url: str, extra: dict[str, Any]) -> Iterator[World]:
    db = Database(make_engine(url))
    shop = seed_shop(db)
    core_settings, entry_settings = _settings(tmp, url, **extra)
    with (
        TestClient(create_core(core_settings)) as core,
        TestClient(create_entry(entry_settings)) as entry,
    ):
        world = World(entry, core, db, shop)
        response = world.admin(
            "PUT", f"/v1/sites/{shop.site_id}/payment-webhook", json={"secret": WEBHOOK_SECRET}
        )
        assert response.status_code == 200, response.text
        yield world
    db.dispose()


def _product(world: World, stock: int, price: int = 1999, ttl_s: int = 600) -> uuid.UUID:
    activity = add_activity(world.db, world.shop.campaign_id, capacity=None)
    body = {"kind": "product", "price_minor": price, "currency": "EUR", "stock": stock}
    response = world.admin(
        "PUT", f"/v1/activities/{activity}/reward", json={**body, "hold_ttl_s": ttl_s}
    )
    assert response.status_code == 200, response.text
    assert response.json()["capacity"] == stock  # the stock is the capacity
    return activity


def _hold(world: World, entry_id: str) -> RewardHold:
    with world.db.reader() as s:
        hold = s.get(RewardHold, uuid.UUID(entry_id))
        assert hold is not None
        return hold


def _trusted_purchases(world: World, user: str | None = None) -> list[tuple[str, Any]]:
    with world.db.reader() as s:
        rows = s.execute(
            select(Purchase.order_id, Purchase.amount).where(
                Purchase.site_id == world.shop.site_id, Purchase.trusted.is_(True)
            )
        ).all()
    return [(o, a) for o, a in rows]


def _shop_events(world: World, event_type: str) -> list[dict[str, Any]]:
    """The events queued for the shop's webhooks, in the transactions of the facts."""
    with world.db.reader() as s:
        return list(
            s.scalars(select(WebhookEvent.payload).where(WebhookEvent.event_type == event_type))
        )


def test_coupon_winners_get_distinct_codes_and_a_short_pool_is_reported(world: World) -> None:
    activity = add_activity(world.db, world.shop.campaign_id, capacity=4)
    coupon = world.admin("PUT", f"/v1/activities/{activity}/reward", json={"kind": "coupon"})
    assert coupon.is_success
    upload = world.admin(
        "POST",
        f"/v1/activities/{activity}/coupons",
        content=b"code\nAAA-1\nAAA-2\nAAA-3\n",
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201, upload.text
    pool = upload.json()["reward"]["pool"]
    assert (pool["size"], pool["remaining"], pool["shortfall"]) == (3, 3, 1)
    # A code already in the pool (or twice in one upload) refuses the whole upload.
    dup = world.admin(
        "POST",
        f"/v1/activities/{activity}/coupons",
        json={"codes": ["NEW-1", "AAA-2"]},
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "coupon_duplicate"
    assert dup.json()["error"]["details"]["duplicates"] == ["AAA-2"]

    answers = [world.win(activity, f"coupon-user-{i}") for i in range(5)]
    won = [a for a in answers if a["status"] == "confirmed"]
    assert len(won) == 4
    rewards = [
        world.reward_seen_by(a["entry_id"], f"coupon-user-{i}") for i, a in enumerate(answers[:4])
    ]
    codes = [r["code"] for r in rewards if r["status"] == "issued"]
    assert sorted(codes) == ["AAA-1", "AAA-2", "AAA-3"]  # each code to one winner
    assert [r["status"] for r in rewards].count("unavailable") == 1  # not a silent gap
    # Nobody else reads a winner's code: no token, or another shopper's token.
    assert world.reward_seen_by(won[0]["entry_id"], None) is None
    assert world.reward_seen_by(won[0]["entry_id"], "coupon-user-4") is None

    report = world.admin("GET", f"/v1/activities/{activity}/reward").json()["pool"]
    assert report == {
        "size": 3,
        "issued": 3,
        "remaining": 0,
        "winners": 4,
        "winners_without_code": 1,
        "shortfall": 1,
    }
    # More codes reach the winner who was left without one, at once.
    more = world.admin(
        "POST",
        f"/v1/activities/{activity}/coupons",
        json={"generate": {"count": 2, "pattern": "GEN-XXXXXXXX"}},
    ).json()
    assert (more["added"], more["given_to_waiting_winners"]) == (2, 1)
    late = next(i for i, r in enumerate(rewards) if r["status"] == "unavailable")
    again = world.reward_seen_by(answers[late]["entry_id"], f"coupon-user-{late}")
    assert again["status"] == "issued" and again["code"].startswith("GEN-")
    issued = _shop_events(world, "reward.issued")
    assert sorted(e["code"] for e in issued) == sorted([*codes, again["code"]])


def test_an_unpaid_hold_expires_and_its_unit_is_won_again(world: World) -> None:
    activity = _product(world, stock=1, ttl_s=120)
    alice = world.win(activity, "alice")
    assert alice["status"] == "confirmed"
    hold = world.reward_seen_by(alice["entry_id"], "alice")
    assert hold["kind"] == "product" and hold["payment_status"] == "held"
    assert (hold["price_minor"], hold["currency"]) == (1999, "EUR")
    row = _hold(world, alice["entry_id"])
    assert row.expires_at - row.created_at == timedelta(seconds=120)  # the activity's TTL
    assert world.win(activity, "bob")["reason"] == "sold_out"  # held units count as sold
    # Alice's time is up (moved, rather than waited for, so a loaded machine cannot race it).
    with world.db.unit_of_work() as s:
        s.execute(
            update(RewardHold)
            .where(RewardHold.entry_id == uuid.UUID(alice["entry_id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    deadline = time.monotonic() + 15
    while _hold(world, alice["entry_id"]).status == "held":
        assert time.monotonic() < deadline, "the sweeper never expired the hold"
        time.sleep(0.2)
    assert world.reward_seen_by(alice["entry_id"], "alice")["payment_status"] == "expired"
    assert confirmed_count(world.db, activity) == 0  # the Postgres guard gave the unit back

    carol = world.win(activity, "carol")  # and so did the gate
    assert carol["status"] == "confirmed"
    assert world.win(activity, "dave")["reason"] == "sold_out"

    late = world.pay(payment_event(world.shop.site_id, alice["entry_id"], 1999, "EUR"))
    assert late.status_code == 409 and late.json()["error"]["code"] == "hold_expired"
    paid = world.pay(payment_event(world.shop.site_id, carol["entry_id"], 1999, "EUR"))
    assert paid.status_code == 200 and paid.json()["outcome"] == "paid"
    assert world.reward_seen_by(carol["entry_id"], "carol")["payment_status"] == "paid"
    assert confirmed_count(world.db, activity) == 1
    assert [str(a) for _, a in _trusted_purchases(world)] == ["19.99"]
    assert [e["entry_id"] for e in _shop_events(world, "hold.expired")] == [alice["entry_id"]]
    confirmed_events = _shop_events(world, "payment.confirmed")
    assert [(e["entry_id"], e["amount_minor"]) for e in confirmed_events] == [
        (carol["entry_id"], 1999)
    ]
    assert len(_shop_events(world, "reward.issued")) == 2  # alice's hold, then carol's


def test_forged_replayed_repriced_and_wrong_currency_payments_are_refused(world: World) -> None:
    activity = _product(world, stock=2, price=4500)
    entry_id = world.win(activity, "erin")["entry_id"]
    site = world.shop.site_id
    genuine = payment_event(site, entry_id, 4500, "EUR", payment_id="pi_genuine")

    def refused(response: Any, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code

    forged = signed(genuine, secret="whsec_someone_elses_secret_000")
    refused(world.pay(genuine, forged), 401, "payment_signature_invalid")
    unsigned = {"Content-Type": "application/json"}
    refused(world.pay(genuine, unsigned), 401, "payment_signature_invalid")
    tampered = genuine.replace(b"4500", b"45")  # signed for the other body
    refused(world.pay(tampered, signed(genuine)), 401, "payment_signature_invalid")
    replayed = signed(genuine, at=time.time() - 400)  # captured, sent again later
    refused(world.pay(genuine, replayed), 401, "payment_signature_expired")
    refused(world.pay(payment_event(site, entry_id, 4400, "EUR")), 422, "payment_amount_mismatch")
    refused(world.pay(payment_event(site, entry_id, 4500, "USD")), 422, "payment_currency_mismatch")
    assert _hold(world, entry_id).status == "held"
    assert _trusted_purchases(world) == []

    first = world.pay(genuine)
    assert first.status_code == 200 and first.json()["outcome"] == "paid"
    again = world.pay(genuine)  # the provider retries: same answer, nothing changes
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    other = world.pay(payment_event(site, entry_id, 4500, "EUR"))  # a second payment, same hold
    refused(other, 409, "hold_already_paid")
    assert _trusted_purchases(world) == [("pi_genuine", _trusted_purchases(world)[0][1])]
    assert str(_trusted_purchases(world)[0][1]) == "45.00"
    assert _hold(world, entry_id).payment_id == "pi_genuine"
    with world.db.reader() as s:  # the user summary counts the paid hold as a purchase
        summaries = s.execute(select(UserSummary.purchase_count, UserSummary.total_spent)).all()
        assert (1, 45) in [(c, int(t)) for c, t in summaries]
        assert s.scalar(select(func.count()).select_from(Purchase)) == 1


def test_a_failed_payment_releases_the_unit_to_the_next_shopper(world: World) -> None:
    activity = _product(world, stock=1)
    frank = world.win(activity, "frank")["entry_id"]
    failed = payment_event(
        world.shop.site_id, frank, 1999, "EUR", event_type="payment_intent.payment_failed"
    )
    response = world.pay(failed)
    assert response.status_code == 200 and response.json()["outcome"] == "released"
    assert world.pay(failed).json()["duplicate"] is True
    assert _hold(world, frank).status == "failed"
    assert confirmed_count(world.db, activity) == 0
    assert world.win(activity, "grace")["status"] == "confirmed"
    assert confirmed_count(world.db, activity) == 1
