"""When Elasticsearch fails, the dashboard says so with a 503 and Retry-After in the common
error shape; a 4xx from Elasticsearch is our own bug and is not dressed up as an outage.

Elasticsearch is replaced by a stub answering every request with one status (a real cluster
answers 5xx only in states a test cannot bring about on cue), or by a closed port.
"""

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch

from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.domain.models import MetricsQuery
from dashboard_service.errors import AnalyticsUnavailable
from migrations.runner import upgrade
from tests.api.test_dashboard_es_one_request import seed_catalog
from tests.support.dashboard_api import AUTH, dashboard_client
from tests.support.http_stub import stub_http

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
QUERY = MetricsQuery(uuid.uuid4(), 0, 3600, 60)


def _store(url: str) -> ElasticsearchAnalyticsStore:
    # No retries: the point is what one failing answer becomes.
    return ElasticsearchAnalyticsStore(Elasticsearch(url, max_retries=0, request_timeout=5))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_from_elasticsearch_is_analytics_unavailable(status: int) -> None:
    with stub_http(status) as stub:
        store = _store(stub.url)
        with pytest.raises(AnalyticsUnavailable, match=str(status)):
            store.campaign_metrics(QUERY)
        with pytest.raises(AnalyticsUnavailable):
            store.change_marker(QUERY.campaign_id)
    assert any("_search" in p for p in stub.paths) and any("_count" in p for p in stub.paths)


def test_a_4xx_from_elasticsearch_stays_an_error_of_ours() -> None:
    with stub_http(400) as stub, pytest.raises(ApiError) as raised:
        _store(stub.url).campaign_metrics(QUERY)
    assert not isinstance(raised.value, AnalyticsUnavailable)
    assert raised.value.meta.status == 400


def test_an_unreachable_elasticsearch_is_analytics_unavailable() -> None:
    with socket.socket() as held:  # a port bound and not listening: connection refused
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        with pytest.raises(AnalyticsUnavailable, match="ConnectionError"):
            _store(url).campaign_metrics(QUERY)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dashboard.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def failing_es(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with stub_http(503) as stub:
        monkeypatch.setenv("PULSE_ELASTICSEARCH_URL", stub.url)
        yield stub.url


def test_metrics_answer_503_with_retry_after_while_elasticsearch_fails(
    sqlite_url: str, failing_es: str
) -> None:
    campaign, _ = seed_catalog(sqlite_url, 1)
    with dashboard_client(sqlite_url, NOW) as client:
        # A filtered view reads the raw events; the default one the rollups, in the database.
        filtered = {"device_type": "mobile"}
        response = client.get(f"/v1/campaigns/{campaign}/metrics", params=filtered, headers=AUTH)
        from_rollups = client.get(f"/v1/campaigns/{campaign}/metrics", headers=AUTH)
    assert from_rollups.status_code == 200, from_rollups.text
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "analytics_unavailable" and error["message"]
