"""GET /v1/campaigns/{id}/metrics over a seeded embedded database, numbers computed by hand."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.orm import Session

from dashboard_service.errors import MissingReadToken
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings
from datastore.engine import default_sqlite_url
from datastore.schema import Activity, AnalyticsEvent, Campaign, Site
from migrations.runner import upgrade
from tests.support.dashboard_api import AUTH, dashboard_client, metrics

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # 10:00Z, an exact hour
TS = int(T0.timestamp())
CAMPAIGN_START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


@dataclass
class Seed:
    campaign_id: uuid.UUID
    a1: uuid.UUID
    a2: uuid.UUID
    a3: uuid.UUID
    other_campaign_id: uuid.UUID


def add_campaign(
    session: Session,
    site_id: uuid.UUID,
    n_activities: int,
    starts_at: datetime | None = CAMPAIGN_START,
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    campaign = Campaign(
        id=uuid.uuid4(),
        site_id=site_id,
        name="Spring sale",
        starts_at=starts_at,
        ends_at=datetime(2024, 5, 31, tzinfo=UTC),
        status="active",
        created_at=CAMPAIGN_START,
        updated_at=CAMPAIGN_START,
    )
    session.add(campaign)
    session.flush()  # no ORM relationships: the campaign row must exist before its activities
    activity_ids = []
    # Created in reverse insertion order of ids, to prove ordering is by created_at.
    for i in range(n_activities):
        activity = Activity(
            id=uuid.uuid4(),
            campaign_id=campaign.id,
            name=f"activity {i + 1}",
            type="fcfs" if i % 2 == 0 else "raffle",
            capacity=100 * (i + 1),
            created_at=CAMPAIGN_START + timedelta(minutes=i),
            updated_at=CAMPAIGN_START,
        )
        session.add(activity)
        activity_ids.append(activity.id)
    return campaign.id, activity_ids


def add_site(session: Session) -> uuid.UUID:
    site = Site(
        id=uuid.uuid4(),
        name="Shop",
        site_key=f"sk_{uuid.uuid4().hex}",
        allowed_origins=[],
        created_at=CAMPAIGN_START,
        updated_at=CAMPAIGN_START,
    )
    session.add(site)
    session.flush()
    return site.id


def event_row(
    site_id: uuid.UUID,
    campaign_id: uuid.UUID | None,
    activity_id: uuid.UUID | None,
    type_: str,
    offset: int,
    visitor: str,
    device: str,
    new: bool,
    revenue: str = "0",
) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "site_id": site_id,
        "campaign_id": campaign_id,
        "activity_id": activity_id,
        "type": type_,
        "occurred_ts": TS + offset,
        "visitor_key": visitor,
        "device_type": device,
        "is_new_user": new,
        "revenue": Decimal(revenue),
    }


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def seed(engine: Engine) -> Seed:
    with Session(engine) as session, session.begin():
        site = add_site(session)
        cid, (a1, a2, a3) = add_campaign(session, site, 3)
        other, _ = add_campaign(session, site, 0)
    rows = [
        event_row(site, cid, a1, "page_view", 0, "v1", "mobile", True),
        event_row(site, cid, a1, "click", 30, "v1", "mobile", True),
        event_row(site, cid, a1, "purchase", 60, "v1", "mobile", True, "19.99"),
        event_row(site, cid, a1, "page_view", 120, "v2", "desktop", False),
        event_row(site, cid, a2, "page_view", 3600, "v2", "desktop", False),
        event_row(site, cid, a2, "click", 3660, "v2", "desktop", False),
        event_row(site, cid, a2, "page_view", 3700, "v3", "tablet", True),
        event_row(site, cid, a2, "purchase", 3720, "v3", "tablet", True, "100.50"),
        event_row(site, cid, a2, "purchase", 3730, "v3", "tablet", True, "5.01"),
        event_row(site, cid, None, "page_view", 7200, "v4", "bot", False),
        event_row(site, cid, None, "form_submit", 7210, "v4", "bot", False),
        event_row(site, cid, a2, "page_view", 3800, "v5", "mobile", True),
        # Another campaign, and an early event of this one (before 10:00).
        event_row(site, other, None, "page_view", 10, "v9", "mobile", True),
        event_row(site, cid, a1, "page_view", -36000 + 5, "v6", "mobile", True),
    ]
    with engine.begin() as conn:
        conn.execute(insert(AnalyticsEvent), rows)
    return Seed(cid, a1, a2, a3, other)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with dashboard_client(database_url, T0 + timedelta(hours=4)) as test_client:
        yield test_client


WINDOW = {"from": "2024-05-01T10:00:00Z", "to": "2024-05-01T13:00:00+00:00"}


def test_totals_activities_devices_and_timeline(client: TestClient, seed: Seed) -> None:
    body = metrics(client, seed.campaign_id, **WINDOW)

    assert body["campaign"]["id"] == str(seed.campaign_id)
    assert body["campaign"]["name"] == "Spring sale"
    assert body["campaign"]["status"] == "active"
    assert body["range"]["interval_seconds"] == 3600
    assert datetime.fromisoformat(body["range"]["from"]) == T0
    assert datetime.fromisoformat(body["range"]["to"]) == T0 + timedelta(hours=3)
    assert body["totals"] == {
        "visits": 6,
        "unique_visitors": 5,
        "clicks": 2,
        "form_submits": 1,
        "purchases": 3,
        "revenue": 125.5,
        "click_rate": 0.3333,
        "conversion_rate": 0.4,
        "new_users": 3,
        "returning_users": 2,
        "entries": 0,
        "capacity": 600,
        "confirmed_entries": 0,
        "fill_rate": 0.0,
        "sold_out": False,
        "time_to_sell_out_seconds": None,
    }
    assert body["funnel"] == [
        {"stage": "visited", "visitors": 5, "rate_from_previous": 1.0, "rate_from_first": 1.0},
        {"stage": "clicked", "visitors": 2, "rate_from_previous": 0.4, "rate_from_first": 0.4},
        {  # v1 and v3 bought (v3 without a click: each stage counts its own visitors)
            "stage": "entered_or_purchased",
            "visitors": 2,
            "rate_from_previous": 1.0,
            "rate_from_first": 0.4,
        },
    ]
    assert [a["activity_id"] for a in body["activities"]] == [
        str(seed.a1),
        str(seed.a2),
        str(seed.a3),
    ]
    a1, a2, a3 = body["activities"]
    assert a1 == {
        "activity_id": str(seed.a1),
        "name": "activity 1",
        "type": "fcfs",
        "starts_at": None,
        "visits": 2,
        "unique_visitors": 2,
        "clicks": 1,
        "click_rate": 0.5,
        "purchases": 1,
        "revenue": 19.99,
        "conversion_rate": 0.5,
        "entries": 0,
        "capacity": 100,
        "confirmed_entries": 0,
        "fill_rate": 0.0,
        "sold_out": False,
        "last_entry_at": None,
        "time_to_sell_out_seconds": None,
        # From trusted purchases in the database, which this seed (index rows only) has none of.
        "gmv": "0.00",
        "orders": 0,
    }
    assert (a2["visits"], a2["unique_visitors"], a2["clicks"], a2["purchases"]) == (3, 3, 1, 2)
    assert (a2["click_rate"], a2["revenue"], a2["conversion_rate"]) == (0.3333, 105.51, 0.3333)
    assert a3["capacity"] == 300
    assert [a3[k] for k in ("visits", "unique_visitors", "clicks", "purchases")] == [0, 0, 0, 0]
    assert (a3["revenue"], a3["click_rate"], a3["conversion_rate"]) == (0.0, 0.0, 0.0)

    assert body["devices"] == [
        {"device_type": "mobile", "events": 4, "unique_visitors": 2},
        {"device_type": "desktop", "events": 3, "unique_visitors": 1},
        {"device_type": "tablet", "events": 3, "unique_visitors": 1},
        {"device_type": "bot", "events": 2, "unique_visitors": 1},
        {"device_type": "other", "events": 0, "unique_visitors": 0},
    ]
    assert body["new_vs_returning"] == {
        "new": {"visitors": 3, "events": 7},
        "returning": {"visitors": 2, "events": 5},
    }
    assert [
        (
            datetime.fromisoformat(b["bucket_start"]),
            b["visits"],
            b["clicks"],
            b["purchases"],
            b["entries"],
        )
        for b in body["timeline"]
    ] == [
        (T0, 2, 1, 1, 0),
        (T0 + timedelta(hours=1), 3, 1, 2, 0),
        (T0 + timedelta(hours=2), 1, 0, 0, 0),
    ]


def test_filter_by_activity(client: TestClient, seed: Seed) -> None:
    body = metrics(client, seed.campaign_id, activity_id=str(seed.a2), **WINDOW)
    totals = body["totals"]
    assert (totals["visits"], totals["unique_visitors"], totals["clicks"]) == (3, 3, 1)
    assert (totals["purchases"], totals["revenue"], totals["form_submits"]) == (2, 105.51, 0)
    assert [a["visits"] for a in body["activities"]] == [0, 3, 0]


def test_filter_by_device(client: TestClient, seed: Seed) -> None:
    body = metrics(client, seed.campaign_id, device_type="tablet", **WINDOW)
    totals = body["totals"]
    assert (totals["visits"], totals["purchases"], totals["revenue"]) == (1, 2, 105.51)
    assert (totals["unique_visitors"], totals["conversion_rate"]) == (1, 1.0)
    assert [d["events"] for d in body["devices"]] == [0, 0, 3, 0, 0]


def test_filter_by_new_user(client: TestClient, seed: Seed) -> None:
    body = metrics(client, seed.campaign_id, new_user="false", **WINDOW)
    totals = body["totals"]
    assert (totals["visits"], totals["clicks"], totals["purchases"]) == (3, 1, 0)
    assert (totals["unique_visitors"], totals["new_users"], totals["returning_users"]) == (2, 0, 2)
    assert body["new_vs_returning"]["new"] == {"visitors": 0, "events": 0}


def test_short_range_uses_minute_buckets_and_exclusive_end(client: TestClient, seed: Seed) -> None:
    body = metrics(
        client, seed.campaign_id, **{"from": "2024-05-01T11:00:00Z", "to": "2024-05-01T11:01:40Z"}
    )
    assert body["range"]["interval_seconds"] == 60
    assert body["totals"]["visits"] == 1  # the 11:01:40 page view is outside [from, to)
    assert [(b["visits"], b["clicks"]) for b in body["timeline"]] == [(1, 0), (0, 1)]


def test_range_in_another_timezone(client: TestClient, seed: Seed) -> None:
    body = metrics(
        client,
        seed.campaign_id,
        **{"from": "2024-05-01T19:00:00+09:00", "to": "2024-05-01T22:00+09:00"},
    )
    assert body["totals"]["visits"] == 6


def test_default_window_is_campaign_start_until_now(client: TestClient, seed: Seed) -> None:
    body = metrics(client, seed.campaign_id)
    assert datetime.fromisoformat(body["range"]["from"]) == CAMPAIGN_START
    assert datetime.fromisoformat(body["range"]["to"]) == T0 + timedelta(hours=4)
    assert body["range"]["interval_seconds"] == 3600
    assert len(body["timeline"]) == 14
    assert body["totals"]["visits"] == 7  # includes the 00:00:05 page view
    assert body["timeline"][0]["visits"] == 1


def test_default_window_without_start_is_seven_days(client: TestClient, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        site = add_site(session)
        cid, _ = add_campaign(session, site, 1, starts_at=None)
    body = metrics(client, cid)
    now = T0 + timedelta(hours=4)
    assert datetime.fromisoformat(body["range"]["from"]) == now - timedelta(days=7)
    assert body["range"]["interval_seconds"] == 86400
    assert len(body["timeline"]) == 8  # day buckets from 24 April 00:00 to 1 May 00:00
    assert all(b["visits"] == 0 for b in body["timeline"])
    assert body["totals"]["click_rate"] == 0.0


def test_unknown_campaign_is_404(client: TestClient, seed: Seed) -> None:
    response = client.get(f"/v1/campaigns/{uuid.uuid4()}/metrics", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "campaign_not_found"


def test_activity_of_another_campaign_is_404(client: TestClient, seed: Seed) -> None:
    response = client.get(
        f"/v1/campaigns/{seed.campaign_id}/metrics",
        params={"activity_id": str(uuid.uuid4())},
        headers=AUTH,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "activity_not_found"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2024-05-01T12:00:00Z", "to": "2024-05-01T11:00:00Z"},
        {"from": "2024-05-01T12:00:00Z", "to": "2024-05-01T12:00:00Z"},
        {"from": "2024-06-01T00:00:00Z"},  # after "now", the default `to`
    ],
)
def test_to_not_after_from_is_422(client: TestClient, seed: Seed, params: dict[str, str]) -> None:
    response = client.get(f"/v1/campaigns/{seed.campaign_id}/metrics", params=params, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_range"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2024-05-01T12:00:00"},  # no timezone
        {"to": "yesterday"},
        {"device_type": "fridge"},
        {"new_user": "maybe"},
        {"activity_id": "not-a-uuid"},
    ],
)
def test_bad_query_is_422(client: TestClient, seed: Seed, params: dict[str, str]) -> None:
    response = client.get(f"/v1/campaigns/{seed.campaign_id}/metrics", params=params, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_token"), ({"Authorization": "Bearer nope"}, "invalid_token")],
)
def test_auth_is_required(
    client: TestClient, seed: Seed, headers: dict[str, str], code: str
) -> None:
    response = client.get(f"/v1/campaigns/{seed.campaign_id}/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


def test_admin_token_is_accepted(database_url: str, seed: Seed) -> None:
    settings = DashboardSettings(
        database_url=database_url, dashboard_token=SecretStr("d"), admin_token=SecretStr("a")
    )
    with TestClient(create_app(settings)) as client:
        for token in ("d", "a"):
            response = client.get(
                f"/v1/campaigns/{seed.campaign_id}/metrics",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200


def test_configured_database_without_token_fails_at_startup(database_url: str) -> None:
    with (
        pytest.raises(MissingReadToken),
        TestClient(create_app(DashboardSettings(database_url=database_url))),
    ):
        pass


def test_embedded_default_generates_a_persistent_token(data_dir: Any) -> None:
    upgrade(default_sqlite_url(data_dir))
    settings = DashboardSettings(data_dir=data_dir)
    with TestClient(create_app(settings)) as client:
        token = (data_dir / "dashboard_token").read_text().strip()
        assert token.startswith("dash_")
        response = client.get(
            f"/v1/campaigns/{uuid.uuid4()}/metrics", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 404
        assert client.get("/readyz").status_code == 200
    with TestClient(create_app(settings)) as client:
        assert client.app.state.ports.read_tokens == [token]  # type: ignore[attr-defined]


@pytest.mark.parametrize("n_activities", [1, 20])
def test_one_analytics_statement_whatever_the_number_of_activities(
    client: TestClient, engine: Engine, n_activities: int
) -> None:
    with Session(engine) as session, session.begin():
        site = add_site(session)
        cid, activity_ids = add_campaign(session, site, n_activities)
    rows = [
        event_row(site, cid, aid, kind, i, f"v{i}", "mobile", i % 2 == 0, "1.00")
        for i, aid in enumerate(activity_ids)
        for kind in ("page_view", "click", "purchase")
    ]
    with engine.begin() as conn:
        conn.execute(insert(AnalyticsEvent), rows)

    statements: list[str] = []
    app_engine: Engine = client.app.state.ports.database.engine  # type: ignore[attr-defined]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app_engine, "before_cursor_execute", record)
    try:
        body = metrics(client, cid, **WINDOW)
    finally:
        event.remove(app_engine, "before_cursor_execute", record)

    assert len(body["activities"]) == n_activities
    assert all(a["visits"] == 1 and a["purchases"] == 1 for a in body["activities"])
    analytics = [s for s in statements if "analytics_events" in s]
    assert len(analytics) == 1
    # campaign, its activities, the one aggregate; then the money from the database: rates,
    # budget, spend, and for the view and the previous period their purchases and new customers
    assert len(statements) == 3 + 7
