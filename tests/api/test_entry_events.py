"""entry_service over HTTP, on a migrated SQLite database and the embedded bus."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common_messaging import (
    EVENTS_RAW,
    EventOccurred,
    ReceivedMessage,
    decode_occurrences,
)
from common_messaging.bus.sqlite_log import SqliteLogConsumer
from common_messaging.visitors import visitor_key
from datastore.engine import make_engine
from entry_service.api.deps import IngestPorts, get_ports
from entry_service.domain.ingestion import MAX_MESSAGE_BYTES
from entry_service.main import create_app
from entry_service.settings import EntrySettings
from servicekit.database import Database
from tests.support.bus_down import BusDown
from tests.support.factories import seed_campaign, seed_definition, seed_site

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def world(database_url: str) -> dict[str, Any]:
    db = Database(make_engine(database_url))
    with db.unit_of_work() as s:
        site = seed_site(s)
        other = seed_site(s, origins=[])
        inactive = seed_site(s, active=False)
        _, (activity, _) = seed_campaign(s, site)
        view = seed_definition(
            s, site, "Landing viewed", "page_view", activity=activity, url_pattern="/landing*"
        )
        click = seed_definition(
            s, site, "Coupon clicked", "click", activity=activity, selector="#coupon"
        )
        old = seed_definition(s, site, "Old", "click", active=False, selector="#old")
        ids = {
            "site_key": site.site_key,
            "site_id": site.id,
            "other_key": other.site_key,
            "inactive_key": inactive.site_key,
            "activity_id": activity.id,
            "campaign_id": activity.campaign_id,
            "view": view.id,
            "click": click.id,
            "old": old.id,
        }
    db.dispose()
    return ids


@pytest.fixture
def client(world: dict[str, Any], data_dir: Path, database_url: str) -> Iterator[TestClient]:
    app = create_app(EntrySettings(data_dir=data_dir, database_url=database_url))
    with TestClient(app) as test_client:
        yield test_client


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "page_view",
        "name": "Landing viewed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "anonymous_id": "anon-1",
    }
    event.update(fields)
    return event


def _messages(data_dir: Path) -> list[ReceivedMessage]:
    consumer = SqliteLogConsumer(data_dir / "bus.sqlite3", f"t-{uuid.uuid4()}", [EVENTS_RAW])
    return consumer.poll(1000, 0.1)


def _published(data_dir: Path) -> list[EventOccurred]:
    return [event for m in _messages(data_dir) for event in decode_occurrences(m.value)]


def test_batch_is_resolved_and_published_as_collected(
    client: TestClient, world: dict[str, Any], data_dir: Path
) -> None:
    batch = {
        "site_key": world["site_key"],
        "events": [
            _event(user_agent=IPHONE),
            _event(type="click", definition_id=str(world["click"]), name=None),
            _event(type="custom", name="Newsletter Signed Up"),
        ],
    }
    response = client.post("/v1/events", json=batch, headers={"Origin": "https://shop.example"})
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 3, "rejected": []}
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    view, click, custom = _published(data_dir)
    assert view.activity_id == world["activity_id"] and view.campaign_id == world["campaign_id"]
    # The edge stamps the user agent; the device and new-vs-returning are the store path's.
    assert view.user_agent == IPHONE and not view.enriched
    assert click.definition_id == world["click"] and click.name == "Coupon clicked"
    assert custom.campaign_id is None and custom.name == "Newsletter Signed Up"
    # An event without its own user agent gets the request's header.
    assert click.user_agent == "testclient" and view.site_id == world["site_id"]


def test_a_request_is_one_message_per_visitor_in_the_order_posted(
    client: TestClient, world: dict[str, Any], data_dir: Path
) -> None:
    """One message per visitor of the request, not one per event, keyed by the visitor so one
    visitor's events stay in order on one partition."""
    first, other, second = (_event(anonymous_id=a) for a in ("anon-a", "anon-b", "anon-a"))
    batch = {"site_key": world["site_key"], "events": [first, other, second]}
    response = client.post("/v1/events", json=batch, headers={"Origin": "https://shop.example"})
    assert response.json() == {"accepted": 3, "rejected": []}
    messages = _messages(data_dir)
    keys = [f"{world['site_id']}:{visitor_key(None, a)}".encode() for a in ("anon-a", "anon-b")]
    assert [m.key for m in messages] == keys
    carried = [[str(e.event_id) for e in decode_occurrences(m.value)] for m in messages]
    assert carried == [[first["event_id"], second["event_id"]], [other["event_id"]]]


def test_a_visitor_s_events_too_big_for_one_message_go_in_several(
    client: TestClient, world: dict[str, Any], data_dir: Path
) -> None:
    """A batch within its byte limit can outgrow a Kafka message once published: the request's
    user agent header is copied into each event. It is split, in order, never refused."""
    events = [_event() for _ in range(500)]
    agent = "Mozilla/5.0 " + "x" * 2_000
    response = client.post(
        "/v1/events",
        json={"site_key": world["site_key"], "events": events},
        headers={"Origin": "https://shop.example", "User-Agent": agent},
    )
    assert response.json() == {"accepted": 500, "rejected": []}
    messages = _messages(data_dir)
    assert len(messages) > 1
    assert all(len(m.value) <= MAX_MESSAGE_BYTES for m in messages)
    carried = [str(e.event_id) for m in messages for e in decode_occurrences(m.value)]
    assert carried == [e["event_id"] for e in events]
    assert {e.user_agent for m in messages for e in decode_occurrences(m.value)} == {agent}


def test_partly_bad_batch_accepts_the_good_events(
    client: TestClient, world: dict[str, Any], data_dir: Path
) -> None:
    batch = {
        "site_key": world["site_key"],
        "events": [
            _event(),
            _event(occurred_at="yesterday"),
            _event(type="click", definition_id=str(uuid.uuid4()), name=None),
            _event(type="click", definition_id=str(world["old"]), name=None),
            _event(type="click", definition_id=str(world["view"]), name=None),
            _event(type="purchase", name="Order", properties={"amount": -3}),
            _event(properties={"blob": "x" * 40_000}),
            "not an object",
            _event(type="entry", name="Sneaky entry"),
        ],
    }
    response = client.post("/v1/events", json=batch)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    errors = {r["index"]: r["error"].split(":")[0] for r in body["rejected"]}
    assert errors == {
        1: "invalid_event",
        2: "unknown_definition",
        3: "definition_inactive",
        4: "definition_type_mismatch",
        5: "invalid_purchase",
        6: "event_too_large",
        7: "invalid_event",
        8: "invalid_event",
    }
    assert len(_published(data_dir)) == 1


def test_batch_refusals_are_clear_4xx(client: TestClient, world: dict[str, Any]) -> None:
    cases: list[tuple[Any, int, str]] = [
        (b"{not json", 400, "invalid_json"),
        ({"events": [_event()]}, 422, "invalid_batch"),
        ({"site_key": "pk_nope", "events": [_event()]}, 404, "site_not_found"),
        ({"site_key": world["inactive_key"], "events": [_event()]}, 403, "site_inactive"),
        ({"site_key": world["site_key"], "events": []}, 422, "invalid_batch"),
        ({"site_key": world["site_key"], "events": [_event()] * 501}, 413, "too_many_events"),
        ({"site_key": world["site_key"], "events": [{"type": "nope"}]}, 400, "no_valid_events"),
    ]
    for body, status, code in cases:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = client.post("/v1/events", content=content)
        assert response.status_code == status, (code, response.text)
        assert response.json()["error"]["code"] == code


def test_oversized_body_is_413_before_parsing(client: TestClient, world: dict[str, Any]) -> None:
    response = client.post(
        "/v1/events",
        content=b"{" + b" " * 600_000 + b"}",
        headers={"Origin": "https://shop.example"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    # The page's script can read it, so the snippet drops the batch instead of retrying it.
    assert response.headers["access-control-allow-origin"] == "https://shop.example"


def test_origin_outside_the_allowed_list_is_refused(
    client: TestClient, world: dict[str, Any]
) -> None:
    batch = {"site_key": world["site_key"], "events": [_event()]}
    response = client.post("/v1/events", json=batch, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    other = {"site_key": world["other_key"], "events": [_event()]}
    response = client.post("/v1/events", json=other, headers={"Origin": "https://shop.example"})
    assert response.status_code == 403


def test_text_plain_body_is_accepted(client: TestClient, world: dict[str, Any]) -> None:
    batch = {"site_key": world["site_key"], "events": [_event()]}
    response = client.post(
        "/v1/events", content=json.dumps(batch), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 202


def test_client_clock_skew_is_corrected_with_sent_at(
    client: TestClient, world: dict[str, Any], data_dir: Path
) -> None:
    skewed = datetime.now(UTC) + timedelta(hours=3)
    batch = {
        "site_key": world["site_key"],
        "sent_at": skewed.isoformat(),
        "events": [_event(occurred_at=(skewed - timedelta(seconds=30)).isoformat())],
    }
    assert client.post("/v1/events", json=batch).status_code == 202
    [event] = _published(data_dir)
    lag = event.received_at - event.occurred_at
    assert timedelta(seconds=29) <= lag <= timedelta(seconds=31)


def test_bus_outage_is_503_with_retry_after(client: TestClient, world: dict[str, Any]) -> None:
    app: Any = client.app
    ports: IngestPorts = app.state.ports.ingest
    down = IngestPorts(ports.sites, BusDown(), ports.parse_user_agent, ports.limits)
    app.dependency_overrides[get_ports] = lambda: down
    batch = {"site_key": world["site_key"], "events": [_event()]}
    response = client.post("/v1/events", json=batch)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "bus_unavailable"
