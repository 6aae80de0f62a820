"""On Elasticsearch, one campaign's metrics cost ONE HTTP request, whatever its activity count.

Requests are counted where they leave the client: every HTTP request the `elasticsearch` client
sends goes through its node class's `perform_request` (elastic_transport's Urllib3HttpNode by
default), which the `http_requests` fixture wraps. Retries and any extra API call would show.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import Urllib3HttpNode
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.domain.models import MetricsQuery
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings
from datastore.engine import make_engine
from migrations.runner import upgrade
from tests.contract.test_analytics_pipeline_contract import es_prefix
from tests.engines import engine_url
from tests.support.factories import occurrence, purchase, seed_campaign, seed_site

pytestmark = pytest.mark.integration

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
TS = int(T0.timestamp())
WINDOW = {"from": "2024-05-01T10:00:00Z", "to": "2024-05-01T13:00:00Z"}
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch(engine_url("elasticsearch"), request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    with es_prefix(es) as name:
        yield name


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.on = False


@pytest.fixture
def http_requests(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Records (method, target) of every HTTP request any ES client sends while `on`."""
    recorder = Recorder()
    original = Urllib3HttpNode.perform_request

    def perform_request(self: Urllib3HttpNode, method: str, target: str, *a: Any, **k: Any) -> Any:
        if recorder.on:
            recorder.requests.append((method, target))
        return original(self, method, target, *a, **k)

    monkeypatch.setattr(Urllib3HttpNode, "perform_request", perform_request)
    return recorder


def traffic(campaign: uuid.UUID, activities: list[uuid.UUID]) -> list[EventOccurred]:
    events = []
    for i, activity in enumerate(activities):
        at = T0 + timedelta(seconds=i)
        common: dict[str, Any] = {
            "campaign_id": campaign,
            "activity_id": activity,
            "occurred_at": at,
            "received_at": at,
            "anonymous_id": f"v{i}",
            "device": DeviceInfo(device_type=DeviceType.MOBILE),
            "is_new_user": i % 2 == 0,
        }
        events.append(occurrence(type=EventType.PAGE_VIEW, **common))
        events.append(occurrence(type=EventType.CLICK, **common))
        events.append(purchase("1.50", **common))
        # A confirmed entry, as core_service writes it: visitor u:<user id>.
        events.append(occurrence(type=EventType.ENTRY, user_id=f"user{i}", **common))
    return events


def index(es: Elasticsearch, prefix: str, events: list[EventOccurred]) -> None:
    ElasticsearchAnalyticsIndex(es, prefix).index(events)
    es.indices.refresh(index=prefix)


@pytest.mark.parametrize("n_activities", [1, 50])
def test_store_sends_one_request(
    es: Elasticsearch, prefix: str, http_requests: Recorder, n_activities: int
) -> None:
    campaign = uuid.uuid4()
    activities = [uuid.uuid4() for _ in range(n_activities)]
    index(es, prefix, traffic(campaign, activities))
    store = ElasticsearchAnalyticsStore(es, prefix)

    http_requests.on = True
    raw = store.campaign_metrics(MetricsQuery(campaign, TS, TS + 3 * 3600, 3600))
    http_requests.on = False

    assert len(http_requests.requests) == 1, http_requests.requests
    method, target = http_requests.requests[0]
    assert (method, target.split("?")[0]) == ("POST", f"/{prefix}/_search")
    assert set(raw.by_activity) == set(activities)
    assert all(m.visits == 1 and m.purchases == 1 for m in raw.by_activity.values())
    assert raw.totals.events == 4 * n_activities
    assert set(raw.entries_by_activity) == set(activities)
    assert all(e.entries == 1 for e in raw.entries_by_activity.values())
    assert raw.funnel.visited == raw.funnel.clicked == n_activities


def test_change_marker_is_one_count_request(
    es: Elasticsearch, prefix: str, http_requests: Recorder
) -> None:
    campaign = uuid.uuid4()
    index(es, prefix, traffic(campaign, [uuid.uuid4(), uuid.uuid4()]))
    store = ElasticsearchAnalyticsStore(es, prefix)

    http_requests.on = True
    marker = store.change_marker(campaign)
    http_requests.on = False

    assert marker == 8
    assert [(m, t.split("?")[0]) for m, t in http_requests.requests] == [
        ("POST", f"/{prefix}/_count")
    ]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dashboard.sqlite3'}"
    upgrade(url)
    return url


def seed_catalog(database_url: str, n_activities: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            site = seed_site(session)
            campaign, rows = seed_campaign(session, site, activities=n_activities)
            return campaign.id, [a.id for a in rows]
    finally:
        engine.dispose()


@pytest.fixture
def app_client(database_url: str, prefix: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = DashboardSettings(
        elasticsearch_url=engine_url("elasticsearch"),
        elasticsearch_index_prefix=prefix,
        database_url=database_url,
        dashboard_token=SecretStr("t"),
        data_dir=tmp_path / "data",
        # The raw-event path (what filtered views and ranges off whole minutes take).
        dashboard_rollups=False,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("n_activities", [1, 50])
def test_dashboard_answers_from_elasticsearch_in_one_request(
    app_client: TestClient,
    database_url: str,
    es: Elasticsearch,
    prefix: str,
    http_requests: Recorder,
    n_activities: int,
) -> None:
    campaign, activities = seed_catalog(database_url, n_activities)
    index(es, prefix, traffic(campaign, activities))

    http_requests.on = True
    response = app_client.get(f"/v1/campaigns/{campaign}/metrics", params=WINDOW, headers=AUTH)
    http_requests.on = False

    assert response.status_code == 200, response.text
    assert [m for m, _ in http_requests.requests] == ["POST"], http_requests.requests
    body = response.json()
    assert body["totals"]["visits"] == n_activities
    assert body["totals"]["confirmed_entries"] == body["totals"]["entries"] == n_activities
    assert all(a["confirmed_entries"] == 1 for a in body["activities"])
    # viewed and clicked: v<i>; bought: v<i>, entered: user<i>
    assert [s["visitors"] for s in body["funnel"]] == [n_activities, n_activities, 2 * n_activities]
    assert body["totals"]["purchases"] == n_activities
    assert body["totals"]["revenue"] == round(1.5 * n_activities, 2)
    assert body["totals"]["unique_visitors"] == 2 * n_activities  # visitors and entrants
    assert body["totals"]["click_rate"] == 1.0
    assert {a["activity_id"] for a in body["activities"]} == {str(a) for a in activities}
    assert all(a["visits"] == 1 and a["clicks"] == 1 for a in body["activities"])
    assert body["devices"][0] == {
        "device_type": "mobile",
        "events": 4 * n_activities,
        "unique_visitors": 2 * n_activities,  # each entrant is signed in: u:user<i>
    }
    assert [b["visits"] for b in body["timeline"]] == [n_activities, 0, 0]


def test_dashboard_on_elasticsearch_before_any_event(
    app_client: TestClient, database_url: str
) -> None:
    campaign, _ = seed_catalog(database_url, 2)
    response = app_client.get(f"/v1/campaigns/{campaign}/metrics", params=WINDOW, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["totals"]["visits"] == 0


def test_readiness_checks_elasticsearch(app_client: TestClient) -> None:
    response = app_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "elasticsearch": "ok"}


def test_readiness_fails_when_elasticsearch_is_unreachable(
    database_url: str, tmp_path: Path
) -> None:
    settings = DashboardSettings(
        elasticsearch_url="http://127.0.0.1:9",  # discard port: connection refused
        database_url=database_url,
        dashboard_token=SecretStr("t"),
        data_dir=tmp_path / "data",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["elasticsearch"].startswith("error")
