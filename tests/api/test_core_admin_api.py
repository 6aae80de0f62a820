"""core_service admin API over a migrated SQLite database, through FastAPI's TestClient."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core_service.api.deps import get_ports
from core_service.api.router import api_router
from core_service.wiring import CorePorts
from datastore.engine import make_engine
from servicekit.database import Database
from servicekit.http_errors import install_error_handlers
from user_summaries.ports import NoSummaryCache
from user_summaries.sql_reader import SqlSummaryReader

TOKEN = "test-token"
START = "2030-01-01T00:00:00Z"
END = "2030-01-31T00:00:00+00:00"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    db = Database(make_engine(database_url))
    ports = CorePorts(db, SqlSummaryReader(db), NoSummaryCache(), None, TOKEN)
    app.dependency_overrides[get_ports] = lambda: ports
    app.include_router(api_router)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as test_client:
        yield test_client
    db.dispose()


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


def fields(err: dict[str, Any]) -> set[str]:
    return {row["field"] for row in err["details"]}


def make_site(client: TestClient, name: str = "Shop", **extra: Any) -> dict[str, Any]:
    payload = {"name": name, "allowed_origins": ["https://shop.example"], **extra}
    return ok(client.post("/v1/sites", json=payload), 201)


def make_campaign(client: TestClient, site_id: str, **extra: Any) -> dict[str, Any]:
    payload = {"site_id": site_id, "name": "Spring", **extra}
    return ok(client.post("/v1/campaigns", json=payload), 201)


def make_activity(client: TestClient, campaign_id: str, **extra: Any) -> dict[str, Any]:
    payload = {"name": "First 100", "type": "fcfs", "capacity": 100, **extra}
    return ok(client.post(f"/v1/campaigns/{campaign_id}/activities", json=payload), 201)


def make_definition(client: TestClient, site_id: str, **extra: Any) -> dict[str, Any]:
    payload = {"site_id": site_id, "name": "Visit", "trigger": {"type": "page_view"}, **extra}
    return ok(client.post("/v1/event-definitions", json=payload), 201)


# Auth


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_token"), ({"Authorization": "Bearer wrong"}, "invalid_token")],
)
def test_admin_routes_need_the_admin_token(
    client: TestClient, headers: dict[str, str], code: str
) -> None:
    client.headers.pop("Authorization")
    error(client.get("/v1/sites", headers=headers), 401, code)
    error(client.post("/v1/sites", json={}, headers=headers), 401, code)


# Sites


def test_site_create_get_update_deactivate(client: TestClient) -> None:
    site = make_site(client, allowed_origins=["HTTPS://Shop.Example:8443", "*"], demo=True)
    assert site["site_key"].startswith("pk_") and len(site["site_key"]) > 20
    assert site["allowed_origins"] == ["https://shop.example:8443", "*"]
    assert site["demo"] is True and site["active"] is True
    assert site["created_at"].endswith("Z") or "+00:00" in site["created_at"]
    assert ok(client.get(f"/v1/sites/{site['id']}")) == site

    patched = ok(client.patch(f"/v1/sites/{site['id']}", json={"name": "Renamed"}))
    assert patched["name"] == "Renamed" and patched["allowed_origins"] == site["allowed_origins"]
    assert patched["site_key"] == site["site_key"]

    gone = ok(client.delete(f"/v1/sites/{site['id']}"))
    assert gone["active"] is False
    assert ok(client.get(f"/v1/sites/{site['id']}"))["active"] is False


@pytest.mark.parametrize(
    "origin",
    ["https://shop.example/path", "ftp://shop.example", "shop.example", "https://", "https://a b"],
)
def test_bad_origins_are_field_errors(client: TestClient, origin: str) -> None:
    err = error(
        client.post("/v1/sites", json={"name": "S", "allowed_origins": ["*", origin]}),
        422,
        "invalid_input",
    )
    assert fields(err) == {"allowed_origins.1"}


def test_site_body_rules(client: TestClient) -> None:
    err = error(
        client.post("/v1/sites", json={"name": "S", "allowed_origins": [], "colour": "red"}),
        422,
        "invalid_input",
    )
    assert "colour" in fields(err)
    site = make_site(client)
    err = error(client.patch(f"/v1/sites/{site['id']}", json={"name": None}), 422, "invalid_input")
    assert fields(err) == {"name"}
    err = error(
        client.patch(f"/v1/sites/{site['id']}", json={"allowed_origins": ["https://x.example/a"]}),
        422,
        "invalid_input",
    )
    assert fields(err) == {"allowed_origins.0"}


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    error(client.get(f"/v1/sites/{missing}"), 404, "site_not_found")
    error(client.patch(f"/v1/sites/{missing}", json={"name": "x"}), 404, "site_not_found")
    error(client.delete(f"/v1/sites/{missing}"), 404, "site_not_found")
    error(client.get(f"/v1/campaigns/{missing}"), 404, "campaign_not_found")
    error(client.get(f"/v1/campaigns/{missing}/activities"), 404, "campaign_not_found")
    error(client.get(f"/v1/activities/{missing}"), 404, "activity_not_found")
    error(client.get(f"/v1/event-definitions/{missing}"), 404, "definition_not_found")
    error(client.get("/v1/sites/not-a-uuid"), 422, "invalid_input")
    error(make_campaign_raw(client, missing), 404, "site_not_found")


def make_campaign_raw(client: TestClient, site_id: str) -> Any:
    return client.post("/v1/campaigns", json={"site_id": site_id, "name": "C"})


# Pagination


def test_pages_walk_every_site_once(client: TestClient) -> None:
    created = [make_site(client, name=f"Site {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    for _ in range(10):  # bounded: a cursor that never ends must fail the test, not hang it
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = ok(client.get("/v1/sites", params=params))
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    else:
        raise AssertionError(f"still paging after 10 pages: {seen}")
    assert seen == created and pages == 3
    assert len(ok(client.get("/v1/sites"))["items"]) == 5


@pytest.mark.parametrize("params", [{"cursor": "garbage!"}, {"cursor": "WzEsMl0"}])
def test_malformed_cursor(client: TestClient, params: dict[str, str]) -> None:
    error(client.get("/v1/sites", params=params), 422, "invalid_cursor")


@pytest.mark.parametrize("limit", [0, 201, "x"])
def test_limit_bounds(client: TestClient, limit: Any) -> None:
    err = error(client.get("/v1/sites", params={"limit": limit}), 422, "invalid_input")
    assert fields(err) == {"limit"}


# Campaigns


def test_campaign_lifecycle_and_site_filter(client: TestClient) -> None:
    site, other = make_site(client)["id"], make_site(client, name="Other")["id"]
    campaign = make_campaign(client, site, starts_at=START, ends_at=END, description="d")
    assert campaign["status"] == "active" and campaign["starts_at"] == "2030-01-01T00:00:00Z"
    make_campaign(client, other)
    listed = ok(client.get("/v1/campaigns", params={"site_id": site}))
    assert [c["id"] for c in listed["items"]] == [campaign["id"]]
    assert len(ok(client.get("/v1/campaigns"))["items"]) == 2

    patched = ok(
        client.patch(
            f"/v1/campaigns/{campaign['id']}", json={"status": "paused", "description": None}
        )
    )
    assert patched["status"] == "paused" and patched["description"] is None
    assert patched["starts_at"] == campaign["starts_at"]
    assert ok(client.delete(f"/v1/campaigns/{campaign['id']}"))["status"] == "archived"


def test_campaign_window_rules(client: TestClient) -> None:
    site = make_site(client)["id"]
    resp = client.post(
        "/v1/campaigns", json={"site_id": site, "name": "C", "starts_at": END, "ends_at": START}
    )
    assert fields(error(resp, 422, "invalid_input")) == {"ends_at"}
    resp = client.post(
        "/v1/campaigns", json={"site_id": site, "name": "C", "starts_at": "2030-01-01T00:00:00"}
    )
    assert fields(error(resp, 422, "invalid_input")) == {"starts_at"}
    campaign = make_campaign(client, site, starts_at=START, ends_at=END)
    resp = client.patch(
        f"/v1/campaigns/{campaign['id']}", json={"starts_at": "2030-02-01T00:00:00Z"}
    )
    assert fields(error(resp, 422, "invalid_input")) == {"ends_at"}
    resp = client.patch(f"/v1/campaigns/{campaign['id']}", json={"status": "done"})
    assert fields(error(resp, 422, "invalid_input")) == {"status"}


# Activities


def test_activity_lifecycle_and_listing(client: TestClient) -> None:
    campaign = make_campaign(client, make_site(client)["id"])["id"]
    activity = make_activity(
        client,
        campaign,
        starts_at=START,
        ends_at=END,
        conditions={"field": "purchase_count", "op": ">=", "value": 1},
    )
    assert activity["per_user_limit"] == 1 and activity["active"] is True
    assert activity["conditions"] == {"field": "purchase_count", "op": ">=", "value": 1}
    for i in range(2):
        make_activity(client, campaign, name=f"Raffle {i}", type="raffle", capacity=None)
    first = ok(client.get(f"/v1/campaigns/{campaign}/activities", params={"limit": 2}))
    rest = ok(
        client.get(f"/v1/campaigns/{campaign}/activities", params={"cursor": first["next_cursor"]})
    )
    ids = [a["id"] for a in first["items"] + rest["items"]]
    assert len(set(ids)) == 3 and ids[0] == activity["id"] and rest["next_cursor"] is None

    patched = ok(
        client.patch(f"/v1/activities/{activity['id']}", json={"capacity": 5, "conditions": None})
    )
    assert patched["capacity"] == 5 and patched["conditions"] is None
    assert ok(client.delete(f"/v1/activities/{activity['id']}"))["active"] is False
    assert ok(client.get(f"/v1/activities/{activity['id']}"))["active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "type": "fcfs"}, "capacity"),
        ({"name": "A", "type": "flash_sale", "capacity": None}, "capacity"),
        ({"name": "A", "type": "raffle", "capacity": 0}, "capacity"),
        ({"name": "A", "type": "raffle", "per_user_limit": 0}, "per_user_limit"),
        ({"name": "A", "type": "lottery"}, "type"),
        ({"name": "A", "type": "raffle", "conditions": [1]}, "conditions"),
        ({"name": "A", "type": "raffle", "starts_at": END, "ends_at": START}, "ends_at"),
        ({"name": "A", "type": "raffle", "ends_at": "2030-01-01T10:00"}, "ends_at"),
        ({"name": "A", "type": "raffle", "extra": 1}, "extra"),
    ],
)
def test_activity_field_errors(client: TestClient, body: dict[str, Any], field: str) -> None:
    campaign = make_campaign(client, make_site(client)["id"])["id"]
    resp = client.post(f"/v1/campaigns/{campaign}/activities", json=body)
    assert fields(error(resp, 422, "invalid_input")) == {field}


def test_activity_patch_keeps_rules(client: TestClient) -> None:
    campaign = make_campaign(client, make_site(client)["id"])["id"]
    activity = make_activity(client, campaign, type="raffle", capacity=None)
    resp = client.patch(f"/v1/activities/{activity['id']}", json={"type": "fcfs"})
    assert fields(error(resp, 422, "invalid_input")) == {"capacity"}
    resp = client.patch(f"/v1/activities/{activity['id']}", json={"active": None})
    assert fields(error(resp, 422, "invalid_input")) == {"active"}


# Event definitions


def test_definition_lifecycle_filters_and_scope(client: TestClient) -> None:
    site = make_site(client)["id"]
    campaign = make_campaign(client, site)["id"]
    activity = make_activity(client, campaign)["id"]
    visit = make_definition(client, site, trigger={"type": "page_view", "url_pattern": "/p/*"})
    assert visit["trigger"] == {"type": "page_view", "url_pattern": "/p/*", "selector": None}
    assert visit["campaign_id"] is None and visit["active"] is True
    click = make_definition(
        client,
        site,
        name="Buy click",
        activity_id=activity,
        trigger={"type": "click", "selector": "#buy"},
    )
    assert click["campaign_id"] == campaign and click["activity_id"] == activity

    by_campaign = ok(client.get("/v1/event-definitions", params={"campaign_id": campaign}))
    assert [d["id"] for d in by_campaign["items"]] == [click["id"]]
    ok(client.delete(f"/v1/event-definitions/{visit['id']}"))
    active = ok(client.get("/v1/event-definitions", params={"site_id": site, "active": True}))
    assert [d["id"] for d in active["items"]] == [click["id"]]

    patched = ok(
        client.patch(
            f"/v1/event-definitions/{click['id']}",
            json={"name": "Click", "campaign_id": None, "activity_id": None},
        )
    )
    assert patched["name"] == "Click" and patched["campaign_id"] is None
    assert patched["trigger"]["selector"] == "#buy"


def test_definition_consistency_errors(client: TestClient) -> None:
    site, other_site = make_site(client)["id"], make_site(client, name="Other")["id"]
    campaign, other = make_campaign(client, site)["id"], make_campaign(client, site)["id"]
    foreign = make_campaign(client, other_site)["id"]
    activity = make_activity(client, other)["id"]

    resp = client.post(
        "/v1/event-definitions",
        json={
            "site_id": site,
            "name": "X",
            "campaign_id": campaign,
            "activity_id": activity,
            "trigger": {"type": "purchase"},
        },
    )
    err = error(resp, 422, "invalid_input")
    assert fields(err) == {"activity_id"} and campaign in err["message"]
    resp = client.post(
        "/v1/event-definitions",
        json={"site_id": site, "name": "X", "campaign_id": foreign, "trigger": {"type": "custom"}},
    )
    assert fields(error(resp, 422, "invalid_input")) == {"campaign_id"}

    definition = make_definition(client, site, activity_id=activity)
    resp = client.patch(f"/v1/event-definitions/{definition['id']}", json={"campaign_id": campaign})
    assert fields(error(resp, 422, "invalid_input")) == {"activity_id"}


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        ({"type": "click"}, "trigger.selector"),
        ({"type": "form_submit", "selector": "  "}, "trigger.selector"),
        ({"type": "page_view", "selector": "#a"}, "trigger.selector"),
        ({"type": "page_view", "url_pattern": "products"}, "trigger.url_pattern"),
        ({"type": "hover"}, "trigger.type"),
        ({"type": "click", "selector": "#a", "xpath": "//a"}, "trigger.xpath"),
    ],
)
def test_trigger_errors(client: TestClient, trigger: dict[str, Any], field: str) -> None:
    site = make_site(client)["id"]
    resp = client.post(
        "/v1/event-definitions", json={"site_id": site, "name": "T", "trigger": trigger}
    )
    assert fields(error(resp, 422, "invalid_input")) == {field}


def test_duplicate_definition_name_conflicts(client: TestClient) -> None:
    site, other = make_site(client)["id"], make_site(client, name="Other")["id"]
    first = make_definition(client, site)
    make_definition(client, other)
    err = error(
        client.post(
            "/v1/event-definitions",
            json={"site_id": site, "name": "Visit", "trigger": {"type": "page_view"}},
        ),
        409,
        "conflict",
    )
    assert "Visit" in err["message"]
    second = make_definition(client, site, name="Second")
    resp = client.patch(f"/v1/event-definitions/{second['id']}", json={"name": "Visit"})
    error(resp, 409, "conflict")
    assert ok(client.patch(f"/v1/event-definitions/{first['id']}", json={"name": "Visit"}))


def test_activity_with_a_bad_eligibility_rule_is_refused_on_save(client: TestClient) -> None:
    site = ok(client.post("/v1/sites", json={"name": "S", "allowed_origins": []}), 201)
    campaign = ok(client.post("/v1/campaigns", json={"site_id": site["id"], "name": "C"}), 201)
    rule = {"all": [{"field": "last_purchase_at", "op": "within_days", "value": -3}]}
    response = client.post(
        f"/v1/campaigns/{campaign['id']}/activities",
        json={"name": "A", "type": "raffle", "conditions": rule},
    )
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "conditions.all.all.0.field"
    assert "whole number of days" in detail["message"]
    good = {"not": {"field": "last_purchase_at", "op": "exists"}}
    created = client.post(
        f"/v1/campaigns/{campaign['id']}/activities",
        json={"name": "New users only", "type": "raffle", "conditions": good},
    )
    assert created.status_code == 201 and created.json()["conditions"] == good
    patched = client.patch(f"/v1/activities/{created.json()['id']}", json={"conditions": rule})
    assert patched.status_code == 422
