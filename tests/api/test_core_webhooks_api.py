"""Admin API of shop webhooks: endpoints (secret shown once, rotatable), refusal of non-public
targets, the delivery log and redelivery, on SQLite and Postgres."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core_service.api.deps import get_ports
from core_service.api.router import api_router
from core_service.api.routes.webhooks import EventType
from core_service.wiring import CorePorts
from datastore.engine import make_engine
from servicekit.database import Database
from servicekit.http_errors import install_error_handlers
from shop_webhooks import ENTRY_DECIDED, EVENT_TYPES, enqueue_webhook_event
from shop_webhooks.dispatcher import Dispatcher
from shop_webhooks.endpoints import TargetPolicy
from shop_webhooks.sender import Outcome, Post
from tests.api.test_core_admin_api import TOKEN, error, make_site, ok
from user_summaries.ports import NoSummaryCache
from user_summaries.sql_reader import SqlSummaryReader

PUBLIC = TargetPolicy(resolve=lambda host, port: ["93.184.216.34"])


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(make_engine(database_url))
    yield database
    database.dispose()


def _client(db: Database, targets: TargetPolicy) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    ports = CorePorts(db, SqlSummaryReader(db), NoSummaryCache(), None, TOKEN, targets)
    app.dependency_overrides[get_ports] = lambda: ports
    app.include_router(api_router)
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with _client(db, PUBLIC) as c:
        yield c


def _register(client: TestClient, site_id: str, **extra: Any) -> dict[str, Any]:
    body = {"url": "https://shop.example/hooks", "event_types": ["entry.decided"], **extra}
    return ok(client.post(f"/v1/sites/{site_id}/webhook-endpoints", json=body), 201)


def test_the_api_offers_exactly_the_libraries_event_types() -> None:
    assert get_args(EventType) == EVENT_TYPES


def test_an_endpoint_shows_its_secret_once_and_rotates_it(client: TestClient) -> None:
    site = make_site(client)
    created = _register(client, site["id"], event_types=["reward.issued", "entry.decided"])
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["entry.decided", "reward.issued"]
    read = ok(client.get(f"/v1/webhook-endpoints/{created['id']}"))
    listed = ok(client.get(f"/v1/sites/{site['id']}/webhook-endpoints"))
    assert "secret" not in read and all("secret" not in e for e in listed["items"])
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    rotated = ok(client.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret"))
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    patched = ok(
        client.patch(
            f"/v1/webhook-endpoints/{created['id']}", json={"event_types": ["hold.expired"]}
        )
    )
    assert patched["event_types"] == ["hold.expired"]
    gone = ok(client.delete(f"/v1/webhook-endpoints/{created['id']}"))
    assert gone["active"] is False


def test_private_and_plain_http_targets_are_refused_with_a_clear_error(db: Database) -> None:
    with _client(db, TargetPolicy()) as client:  # the real resolver
        site = make_site(client)
        url = f"/v1/sites/{site['id']}/webhook-endpoints"
        for target in ("https://127.0.0.1/hooks", "https://localhost:8443/hooks", "https://[::1]/"):
            err = error(
                client.post(url, json={"url": target, "event_types": ["entry.decided"]}),
                422,
                "webhook_url_not_public",
            )
            assert "non-public address" in err["message"] and err["details"][0]["field"] == "url"
        err = error(
            client.post(
                url, json={"url": "http://shop.example/", "event_types": ["entry.decided"]}
            ),
            422,
            "webhook_url_invalid",
        )
        assert "https is required" in err["message"]
        assert ok(client.get(url))["items"] == []  # nothing was stored
    with _client(db, TargetPolicy(allow_private=True)) as allowed:
        _register(allowed, site["id"], url="http://127.0.0.1:9/hooks")


def test_bad_requests_get_clear_errors(client: TestClient) -> None:
    site = make_site(client)
    url = f"/v1/sites/{site['id']}/webhook-endpoints"
    error(
        client.post(url, json={"url": "https://shop.example/", "event_types": []}),
        422,
        "invalid_input",
    )
    error(
        client.post(url, json={"url": "https://shop.example/", "event_types": ["entry.won"]}),
        422,
        "invalid_input",
    )
    missing = "00000000-0000-0000-0000-000000000000"
    error(
        client.post(
            f"/v1/sites/{missing}/webhook-endpoints",
            json={"url": "https://shop.example/", "event_types": ["entry.decided"]},
        ),
        404,
        "site_not_found",
    )
    error(client.get(f"/v1/webhook-endpoints/{missing}"), 404, "webhook_endpoint_not_found")
    error(
        client.get(f"/v1/webhook-endpoints/{missing}/deliveries"), 404, "webhook_endpoint_not_found"
    )
    error(client.get(f"/v1/webhook-deliveries/{missing}"), 404, "webhook_delivery_not_found")
    error(
        client.post(f"/v1/webhook-deliveries/{missing}/redeliver"),
        404,
        "webhook_delivery_not_found",
    )
    error(client.get(f"{url}?cursor=nonsense"), 422, "invalid_cursor")


class _Flaky:
    def __init__(self) -> None:
        self.answers = [Outcome(500, None, 12), Outcome(200, None, 8)]

    def send(self, post: Post) -> Outcome:
        return self.answers.pop(0)


def test_staff_read_the_delivery_log_and_redeliver(client: TestClient, db: Database) -> None:
    site = make_site(client)
    hook = _register(client, site["id"])
    with db.unit_of_work() as s:
        enqueue_webhook_event(
            s.connection(),
            site_id=UUID(site["id"]),
            event_type=ENTRY_DECIDED,
            event_id="e-1",
            payload={"entry_id": "e-1"},
            occurred_at=datetime.now(UTC),
        )
    now = [datetime.now(UTC)]
    dispatcher = Dispatcher(db, _Flaky(), clock=lambda: now[0])
    dispatcher.run_once()
    log = ok(client.get(f"/v1/webhook-endpoints/{hook['id']}/deliveries"))
    [delivery] = log["items"]
    assert delivery["status"] == "pending" and delivery["event_id"] == "e-1"
    assert [(a["status_code"], a["duration_ms"]) for a in delivery["attempts"]] == [(500, 12)]
    assert delivery["next_attempt_at"] is not None
    assert (
        ok(client.get(f"/v1/webhook-endpoints/{hook['id']}/deliveries?status=succeeded"))["items"]
        == []
    )
    again = ok(client.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver"), 202)
    assert again["status"] == "pending" and again["webhook_id"] == delivery["webhook_id"]
    now[0] = datetime.now(UTC)
    dispatcher.run_once()
    done = ok(client.get(f"/v1/webhook-deliveries/{delivery['id']}"))
    assert done["status"] == "succeeded" and done["next_attempt_at"] is None
    assert [(a["status_code"], a["manual"]) for a in done["attempts"]] == [
        (500, False),
        (200, True),
    ]
