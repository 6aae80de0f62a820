"""GET /v1/campaigns on dashboard_service: the campaigns a reader can open, newest first."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings
from datastore.schema import Activity, Campaign, Site
from servicekit.database import Database

AUTH = {"Authorization": "Bearer t"}
T0 = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(DashboardSettings(database_url=database_url, dashboard_token=SecretStr("t")))
    with TestClient(app) as test_client:
        yield test_client


def seed(database: Database, activities: list[int]) -> list[str]:
    """One campaign per entry of `activities`, created a minute apart, with that many activities.
    Returns their ids, oldest first."""
    ids = []
    with Session(database.engine) as session, session.begin():
        site = Site(
            id=uuid.uuid4(), name="Shop", site_key=uuid.uuid4().hex, created_at=T0, updated_at=T0
        )
        session.add(site)
        session.flush()
        for i, n in enumerate(activities):
            at = T0 + timedelta(minutes=i)
            campaign = Campaign(
                id=uuid.uuid4(), site_id=site.id, name=f"campaign {i}", created_at=at, updated_at=at
            )
            session.add(campaign)
            session.flush()
            for j in range(n):
                session.add(
                    Activity(
                        campaign_id=campaign.id,
                        name=f"a{j}",
                        type="raffle",
                        created_at=at,
                        updated_at=at,
                    )
                )
            ids.append(str(campaign.id))
    return ids


def test_lists_campaigns_newest_first_with_activity_counts(
    client: TestClient, database: Database
) -> None:
    ids = seed(database, [2, 0, 3])
    response = client.get("/v1/campaigns", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["id"] for c in body["items"]] == ids[::-1]
    assert [c["activity_count"] for c in body["items"]] == [3, 0, 2]
    newest = body["items"][0]
    assert (newest["name"], newest["status"], newest["starts_at"]) == ("campaign 2", "active", None)
    assert body["next_cursor"] is None


def test_pages_follow_the_cursor_without_gaps_or_repeats(
    client: TestClient, database: Database
) -> None:
    ids = seed(database, [0] * 5)
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = client.get("/v1/campaigns", params=params, headers=AUTH).json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
    assert seen == ids[::-1]
    assert cursor is None


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"cursor": "WyJ4IiwgInkiXQ"}, {"limit": "0"}, {"limit": "201"}],
)
def test_bad_paging_is_422(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/v1/campaigns", params=params, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"invalid_cursor", "invalid_input"}


def test_the_list_needs_a_reader_token(client: TestClient) -> None:
    assert client.get("/v1/campaigns").status_code == 401
    response = client.get("/v1/campaigns", headers={"Authorization": "Bearer nope"})
    assert response.json()["error"]["code"] == "invalid_token"
