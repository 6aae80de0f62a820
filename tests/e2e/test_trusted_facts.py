"""Eligibility facts come only from sources the site vouches for: a purchase posted by a browser
is recorded for analytics but cannot make a shopper eligible, nor a victim ineligible; the
same purchase sent by the site's server (its secret), or with the user's signed token, counts."""

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from datastore.schema import Purchase
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from servicekit.database import Database
from tests.support.entries import SECRET, add_activity, seed_shop, token

pytestmark = pytest.mark.e2e


class Shop:
    def __init__(self, core: TestClient, entry: TestClient, db: Database) -> None:
        self.core, self.entry, self.db = core, entry, db
        self.shop = seed_shop(db)
        self.buyers_only = add_activity(
            db,
            self.shop.campaign_id,
            conditions={"field": "purchase_count", "op": ">=", "value": 1},
        )
        self.newcomers_only = add_activity(
            db,
            self.shop.campaign_id,
            conditions={"field": "purchase_count", "op": "==", "value": 0},
        )

    def purchase(self, user_id: str | None, **body: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "name": "Order Completed",
            "type": "purchase",
            "occurred_at": datetime.now(UTC).isoformat(),
            "anonymous_id": f"anon-{uuid.uuid4().hex[:6]}",
            "properties": {"order_id": uuid.uuid4().hex, "amount": "120.00", "currency": "EUR"},
        }
        if user_id is not None:
            event["user_id"] = user_id
        return {"site_key": self.shop.site_key, "events": [event], **body}

    def enter(self, activity_id: uuid.UUID, user_id: str) -> dict[str, Any]:
        response = self.entry.post(
            f"/v1/activities/{activity_id}/entries",
            json={"user_token": token(user_id)},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_purchases(self, count: int, timeout_s: float = 15) -> list[Purchase]:
        deadline = time.monotonic() + timeout_s
        while True:
            with self.db.reader() as session:
                rows = list(session.scalars(select(Purchase)))
            if len(rows) >= count or time.monotonic() > deadline:
                assert len(rows) == count, f"{len(rows)} purchases stored, expected {count}"
                return rows
            time.sleep(0.1)


@pytest.fixture
def shop(data_dir: Path, database_url: str) -> Iterator[Shop]:
    common: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    core = create_core(CoreSettings(admin_token=SecretStr("adm"), **common))
    entry = create_entry(EntrySettings(entry_confirm_wait_s=0, **common))
    db = Database(make_engine(database_url))
    with ExitStack() as stack:
        c, e = (stack.enter_context(TestClient(app)) for app in (core, entry))
        yield Shop(c, e, db)
    db.dispose()


def test_a_browser_purchase_neither_qualifies_nor_disqualifies(shop: Shop) -> None:
    # The shopper forges a purchase for themself; an attacker forges one for a victim.
    for user in ("forger", "victim"):
        assert shop.entry.post("/v1/events", json=shop.purchase(user)).status_code == 202
    rows = shop.wait_purchases(2)
    assert {row.trusted for row in rows} == {False}  # recorded for analytics, not vouched for
    assert shop.enter(shop.buyers_only, "forger")["reason"] == "not_eligible"
    assert shop.enter(shop.newcomers_only, "victim")["status"] != "rejected"


def test_a_purchase_the_site_vouches_for_counts(shop: Shop) -> None:
    server = shop.entry.post(
        "/v1/server/events",
        json=shop.purchase("server-buyer"),
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert server.json() == {"accepted": 1, "rejected": []}
    # The browser, with the user's signed token: the user id comes from the token.
    signed = shop.entry.post(
        "/v1/events", json=shop.purchase(None, user_token=token("token-buyer"))
    )
    assert signed.json() == {"accepted": 1, "rejected": []}
    rows = shop.wait_purchases(2)
    assert {row.trusted for row in rows} == {True}
    for buyer in ("server-buyer", "token-buyer"):
        assert shop.enter(shop.buyers_only, buyer)["status"] != "rejected"
        assert shop.enter(shop.newcomers_only, buyer)["reason"] == "not_eligible"


def test_forged_credentials_are_refused(shop: Shop) -> None:
    wrong_secret = shop.entry.post(
        "/v1/server/events",
        json=shop.purchase("x"),
        headers={"Authorization": "Bearer whsec_not-the-site-secret"},
    )
    assert wrong_secret.status_code == 401
    no_secret = shop.entry.post("/v1/server/events", json=shop.purchase("x"))
    assert no_secret.status_code == 401
    forged_token = shop.entry.post(
        "/v1/events", json=shop.purchase(None, user_token=token("x", secret="guessed-" + "x" * 40))
    )
    assert forged_token.status_code == 401
    assert forged_token.json()["error"]["code"] == "invalid_token"
