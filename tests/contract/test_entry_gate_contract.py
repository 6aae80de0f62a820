"""One contract for every entry gate: the embedded one (the database's conditional update, on
SQLite and on Postgres) and the Redis one (atomic script, Kafka, core_service confirming in
Postgres). Same requests, same answers, same rows in the ledger.
"""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from common_messaging.bus import BusSettings, prepare_bus
from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from datastore.schema import AnalyticsEvent, Entry
from entry_service.adapters.redis_gate_scripts import entry_key
from entry_service.api.deps import get_entry_ports
from entry_service.domain.entries import EntryPorts, RateLimits
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from migrations.runner import upgrade
from servicekit.database import Database
from tests.engines import engine_url, scratch_postgres_database
from tests.support.entries import (
    Shop,
    add_activity,
    confirmed,
    confirmed_count,
    seed_shop,
    token,
)

ADMIN = "adm-entry-contract"


@dataclass
class GateWorld:
    entry: TestClient
    db: Database
    shop: Shop
    core: TestClient | None

    def enter(
        self, activity_id: uuid.UUID, body: dict[str, Any], key: str | None = None, **headers: str
    ) -> Any:
        hdrs = {"Idempotency-Key": key or str(uuid.uuid4()), **headers}
        return self.entry.post(f"/v1/activities/{activity_id}/entries", json=body, headers=hdrs)

    def final(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The decision, polling GET while the answer is `reserved` (Redis gate only)."""
        for _ in range(100):
            if answer["status"] != "reserved":
                return answer
            time.sleep(0.1)
            answer = self.entry.get(f"/v1/entries/{answer['entry_id']}").json()
        raise AssertionError(f"still reserved: {answer}")


def _entry_settings(tmp: Path, url: str, **extra: Any) -> EntrySettings:
    return EntrySettings(
        data_dir=tmp,
        database_url=url,
        entry_rate_limit_per_user=1000,
        entry_rate_limit_per_ip=100_000,
        **extra,
    )


@pytest.fixture(
    params=[
        "embedded-sqlite",
        pytest.param("embedded-postgres", marks=pytest.mark.integration),
        pytest.param("redis-kafka-postgres", marks=pytest.mark.integration),
    ]
)
def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GateWorld]:
    if request.param == "embedded-sqlite":
        url = f"sqlite:///{tmp_path / 'pulse.sqlite3'}"
        upgrade(url)
        yield from _embedded(tmp_path, url)
        return
    with scratch_postgres_database() as url:
        upgrade(url)
        if request.param == "embedded-postgres":
            yield from _embedded(tmp_path, url)
        else:
            yield from _full(tmp_path, url, monkeypatch)


def _embedded(tmp: Path, url: str) -> Iterator[GateWorld]:
    db = Database(make_engine(url))
    shop = seed_shop(db)
    with TestClient(create_entry(_entry_settings(tmp, url))) as entry:
        yield GateWorld(entry, db, shop, None)
    db.dispose()


def _full(tmp: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[GateWorld]:
    run = uuid.uuid4().hex[:8]
    monkeypatch.setenv("PULSE_KAFKA_TOPIC_PREFIX", f"gate-{run}.")
    kafka, redis_url = engine_url("kafka"), engine_url("redis")
    prepare_bus(
        BusSettings(
            kafka_bootstrap_servers=kafka, kafka_topic_prefix=f"gate-{run}.", kafka_partitions=2
        )
    )
    db = Database(make_engine(url))
    shop = seed_shop(db)
    core_settings = CoreSettings(
        data_dir=tmp,
        database_url=url,
        kafka_bootstrap_servers=kafka,
        redis_url=redis_url,
        admin_token=SecretStr(ADMIN),
        consumer_group=f"core-{run}",
        entries_consumer_group=f"entries-{run}",
    )
    settings = _entry_settings(
        tmp, url, kafka_bootstrap_servers=kafka, redis_url=redis_url, entry_confirm_wait_s=5.0
    )
    with TestClient(create_core(core_settings)) as core, TestClient(create_entry(settings)) as e:
        yield GateWorld(e, db, shop, core)
    db.dispose()


def test_first_come_first_served_up_to_capacity(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id, capacity=3)
    answers = [
        world.final(world.enter(activity, {"user_token": token(f"user-{i}")}).json())
        for i in range(5)
    ]
    assert [a["status"] for a in answers] == ["confirmed"] * 3 + ["rejected"] * 2
    assert [a.get("reason") for a in answers[3:]] == ["sold_out", "sold_out"]
    assert sorted(p for _, p in confirmed(world.db, activity)) == [1, 2, 3]
    assert confirmed_count(world.db, activity) == 3


def test_same_idempotency_key_gives_the_same_entry(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id)
    body = {"user_token": token("alice")}
    first = world.final(world.enter(activity, body, key="k-1").json())
    again = world.final(world.enter(activity, body, key="k-1").json())
    assert first["status"] == "confirmed"
    assert again["entry_id"] == first["entry_id"] and again["status"] == "confirmed"
    other_key = world.final(world.enter(activity, body, key="k-2").json())
    assert (other_key["status"], other_key["reason"]) == ("rejected", "already_entered")
    assert len(confirmed(world.db, activity)) == 1


def test_per_user_limit_above_one(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id, per_user_limit=2)
    answers = [
        world.final(world.enter(activity, {"user_token": token("bob")}).json()) for _ in range(3)
    ]
    assert [a["status"] for a in answers] == ["confirmed", "confirmed", "rejected"]
    assert answers[2]["reason"] == "already_entered"


def test_window_and_conditions_are_refused_with_reasons(world: GateWorld) -> None:
    later = add_activity(world.db, world.shop.campaign_id, starts_in=timedelta(hours=1))
    over = add_activity(world.db, world.shop.campaign_id, ends_in=timedelta(seconds=-1))
    buyers = add_activity(
        world.db,
        world.shop.campaign_id,
        conditions={"field": "last_purchase_at", "op": "exists"},
    )
    gold = add_activity(
        world.db,
        world.shop.campaign_id,
        conditions={"field": "traits.tier", "op": "==", "value": "gold"},
    )
    body = {"user_token": token("carol")}
    assert world.enter(later, body).json()["reason"] == "not_started"
    assert world.enter(over, body).json()["reason"] == "ended"
    refused = world.enter(buyers, body).json()
    assert (refused["status"], refused["reason"]) == ("rejected", "not_eligible")
    assert "last_purchase_at" in refused["detail"]
    assert (
        world.enter(gold, {"user_token": token("dan", traits={"tier": "silver"})}).json()["reason"]
        == "not_eligible"
    )
    won = world.final(
        world.enter(gold, {"user_token": token("erin", traits={"tier": "gold"})}).json()
    )
    assert won["status"] == "confirmed"


def test_identity_comes_from_a_valid_token_only(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id)
    for body in (
        {"user_token": token("mallory", secret="whsec_not_the_site_secret_but_long_enough")},
        {"user_token": token("mallory", ttl=timedelta(minutes=-10))},
        {"user_token": "not.a.jwt"},
        {"user_id": "mallory"},  # plain ids only on demo sites
    ):
        response = world.enter(activity, body)
        assert response.status_code == 401, body
        assert response.json()["error"]["code"] == "invalid_token"
    demo_activity = add_activity(world.db, world.shop.demo_campaign_id)
    demo = world.final(world.enter(demo_activity, {"user_id": "visitor-1"}).json())
    assert demo["status"] == "confirmed"
    assert confirmed(world.db, activity) == []


def test_requests_that_cannot_be_entries_are_clear_4xx(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id)
    no_key = world.entry.post(f"/v1/activities/{activity}/entries", json={"user_token": token("x")})
    assert (no_key.status_code, no_key.json()["error"]["code"]) == (
        400,
        "idempotency_key_required",
    )
    unknown = world.enter(uuid.uuid4(), {"user_token": token("x")})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "activity_not_found")
    wrong_site = world.enter(activity, {"user_token": token("x"), "site_key": "pk_other"})
    assert wrong_site.status_code == 404
    outsider = world.enter(activity, {"user_token": token("x")}, Origin="https://evil.example")
    assert outsider.status_code == 403
    assert "access-control-allow-origin" not in outsider.headers
    bad = world.entry.post(
        f"/v1/activities/{activity}/entries",
        content=b"{nope",
        headers={"Idempotency-Key": "k", "Content-Type": "text/plain"},
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_json")
    assert world.entry.get(f"/v1/entries/{uuid.uuid4()}").status_code == 404


def test_entry_state_and_the_user_summary(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id)
    answer = world.final(
        world.enter(activity, {"user_token": token("frank")}, Origin="https://shop.example").json()
    )
    state = world.entry.get(f"/v1/entries/{answer['entry_id']}").json()
    assert state == {
        "entry_id": answer["entry_id"],
        "status": "confirmed",
        "position": 1,
        "activity_id": str(activity),
    }
    # A confirmed entry is an analytics event of type `entry`, for the dashboards.
    with world.db.reader() as s:
        indexed = s.execute(
            select(AnalyticsEvent.type, AnalyticsEvent.activity_id).where(
                AnalyticsEvent.event_id == uuid.UUID(answer["entry_id"])
            )
        ).all()
    assert indexed == [("entry", activity)]
    # An entry counts in the summary, so conditions such as "entered before" can use it.
    repeat = add_activity(
        world.db,
        world.shop.campaign_id,
        conditions={"field": "entry_count", "op": ">=", "value": 1},
    )
    assert world.final(world.enter(repeat, {"user_token": token("frank")}).json())["status"] == (
        "confirmed"
    )
    assert world.enter(repeat, {"user_token": token("grace")}).json()["reason"] == "not_eligible"


def test_every_entry_id_answered_resolves_for_good(world: GateWorld) -> None:
    """GET never forgets an entry id a shopper was given, whatever the answer was, and never
    contradicts it: refusals before and at the gate are records like confirmations."""
    seats = add_activity(world.db, world.shop.campaign_id, capacity=1)
    later = add_activity(world.db, world.shop.campaign_id, starts_in=timedelta(hours=1))
    buyers = add_activity(
        world.db,
        world.shop.campaign_id,
        conditions={"field": "last_purchase_at", "op": "exists"},
    )
    answers = [
        world.final(world.enter(seats, {"user_token": token("hana")}).json()),
        world.final(world.enter(seats, {"user_token": token("hana")}).json()),
        world.final(world.enter(seats, {"user_token": token("ivan")}).json()),
        world.enter(later, {"user_token": token("ivan")}).json(),
        world.enter(buyers, {"user_token": token("ivan")}).json(),
    ]
    assert [(a["status"], a.get("reason")) for a in answers] == [
        ("confirmed", None),
        ("rejected", "already_entered"),
        ("rejected", "sold_out"),
        ("rejected", "not_started"),
        ("rejected", "not_eligible"),
    ]
    shown = ("entry_id", "status", "reason", "detail")
    for answer in answers:
        state = world.entry.get(f"/v1/entries/{answer['entry_id']}")
        assert state.status_code == 200, answer
        assert {k: state.json().get(k) for k in shown} == {k: answer.get(k) for k in shown}
    # The ledger holds every decision, not only the seat (the bus brings the gate's refusals).
    ids = {uuid.UUID(a["entry_id"]): (a["status"], a.get("reason")) for a in answers}
    assert _ledger_rows(world, ids) == ids
    if world.core is not None:  # Redis forgets its copies: the ledger answers the same
        copies = redis.Redis.from_url(engine_url("redis"))
        assert copies.delete(*(entry_key(i) for i in ids)) == len(ids)
        copies.close()
        for answer in answers:
            state = world.entry.get(f"/v1/entries/{answer['entry_id']}").json()
            assert {k: state.get(k) for k in shown} == {k: answer.get(k) for k in shown}


def _ledger_rows(
    world: GateWorld, expected: dict[uuid.UUID, tuple[str, str | None]]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    deadline = time.monotonic() + 20
    while True:
        with world.db.reader() as s:
            rows = s.execute(
                select(Entry.id, Entry.status, Entry.reason).where(Entry.id.in_(expected))
            ).all()
        found = {i: (status, reason) for i, status, reason in rows}
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_rate_limit_per_ip_is_429_with_retry_after(world: GateWorld) -> None:
    activity = add_activity(world.db, world.shop.campaign_id)
    _strict_limits(world, RateLimits(per_user=100, per_ip=3, window_s=WINDOW_S))
    codes = [
        world.entry.post(
            f"/v1/activities/{activity}/entries",
            json={"user_token": token(f"flood-{i}")},
            headers={"Idempotency-Key": str(i)},
        )
        for i in range(5)
    ]
    assert [c.status_code for c in codes] == [202, 202, 202, 429, 429]
    assert codes[3].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(codes[3].headers["retry-after"]) <= WINDOW_S


def test_rate_limit_per_user_is_429_and_bad_tokens_count_against_the_address(
    world: GateWorld,
) -> None:
    activity = add_activity(world.db, world.shop.campaign_id, per_user_limit=5)
    _strict_limits(world, RateLimits(per_user=2, per_ip=6, window_s=WINDOW_S))
    shopper = f"eager-{uuid.uuid4().hex[:8]}"

    def post(body: dict[str, object], key: str) -> int:
        url = f"/v1/activities/{activity}/entries"
        return world.entry.post(url, json=body, headers={"Idempotency-Key": key}).status_code

    same_user = [post({"user_token": token(shopper)}, f"u{i}") for i in range(3)]
    assert same_user == [202, 202, 429]  # the third attempt of one shopper in the window
    assert post({"user_token": token("someone-else")}, "other") == 202  # others go on
    # Forged tokens are refused, and still use up the address's allowance (6 per window).
    forged = [post({"user_token": "not-a-jwt"}, f"f{i}") for i in range(3)]
    assert forged == [401, 401, 429]


# Fixed windows: a test's requests must not straddle a window's end, or the count restarts.
WINDOW_S = 3600


def _strict_limits(world: GateWorld, limits: RateLimits) -> None:
    left = limits.window_s - time.time() % limits.window_s
    if left < 30:  # the requests (each may wait for core's decision) could cross into the next
        time.sleep(left + 0.1)
    app = world.entry.app
    ports: EntryPorts = app.state.ports.entries  # type: ignore[attr-defined]
    strict = replace(ports, limits=limits)
    app.dependency_overrides[get_entry_ports] = lambda: strict  # type: ignore[attr-defined]
    # A client address of the test's own, on the world's running client (its event loop).
    transport = world.entry._transport  # type: ignore[attr-defined]
    transport.client = (f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7", 1234)
