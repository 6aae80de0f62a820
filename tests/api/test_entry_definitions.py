from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from datastore.engine import make_engine
from entry_service.main import create_app
from entry_service.settings import EntrySettings
from servicekit.database import Database
from tests.support.factories import seed_campaign, seed_definition, seed_site


@pytest.fixture
def site_key(database_url: str) -> str:
    db = Database(make_engine(database_url))
    with db.unit_of_work() as s:
        site = seed_site(s)
        _, (activity, _) = seed_campaign(s, site)
        seed_definition(
            s, site, "Landing viewed", "page_view", activity=activity, url_pattern="/landing*"
        )
        seed_definition(s, site, "Coupon clicked", "click", selector="#coupon")
        seed_definition(s, site, "Retired", "click", selector="#x", active=False)
        key = site.site_key
    db.dispose()
    return key


@pytest.fixture
def client(data_dir: Path, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(EntrySettings(data_dir=data_dir, database_url=database_url))) as c:
        yield c


def test_definitions_list_only_active_ones_with_cache_headers(
    client: TestClient, site_key: str
) -> None:
    response = client.get(f"/v1/sites/{site_key}/definitions")
    assert response.status_code == 200
    body = response.json()
    assert [d["name"] for d in body["definitions"]] == ["Coupon clicked", "Landing viewed"]
    landing = body["definitions"][1]
    assert landing["trigger"] == {"type": "page_view", "url_pattern": "/landing*", "selector": None}
    assert landing["activity_id"] is not None
    assert response.headers["cache-control"] == "public, max-age=60"
    etag = response.headers["etag"]
    again = client.get(f"/v1/sites/{site_key}/definitions", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_unknown_site_key_is_404(client: TestClient) -> None:
    response = client.get("/v1/sites/pk_missing/definitions")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "site_not_found"


def test_cors_grants_only_the_sites_allowed_origins(client: TestClient, site_key: str) -> None:
    path = f"/v1/sites/{site_key}/definitions"
    shop = client.get(path, headers={"Origin": "https://shop.example"})
    assert shop.headers["access-control-allow-origin"] == "https://shop.example"
    assert "ETag" in shop.headers["access-control-expose-headers"]
    evil = client.get(path, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 200 and "access-control-allow-origin" not in evil.headers
    assert evil.headers["vary"] == "Origin"
    # Errors are readable by the page's script, so the snippet can tell a 404 from a network
    # error and stop retrying.
    missing = client.get(
        "/v1/sites/pk_missing/definitions", headers={"Origin": "https://a.example"}
    )
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == "https://a.example"


def test_health_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
    assert "python_info" in client.get("/metrics").text
