"""The web UI's files: served from the build (scripts/bootstrap runs `npm run build`), locked down
by a content security policy, and a clear answer when they were never built."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from dashboard_service.api.routes.web import DIST, web_router
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings
from servicekit.http_errors import install_error_handlers


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    assert (DIST / "index.html").is_file(), f"no UI build in {DIST}: run `npm ci && npm run build`"
    app = create_app(DashboardSettings(database_url=database_url, dashboard_token=SecretStr("t")))
    with TestClient(app) as test_client:
        yield test_client


def test_the_page_is_served_without_credentials_and_with_a_strict_policy(
    client: TestClient,
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'src="assets/app.js"' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("name", "kind"), [("app.js", "javascript"), ("app.css", "text/css")])
def test_the_built_assets_are_served(client: TestClient, name: str, kind: str) -> None:
    response = client.get(f"/assets/{name}")
    assert response.status_code == 200
    assert kind in response.headers["content-type"]
    assert len(response.content) > 1000


def test_the_bundle_carries_chart_js_from_npm_with_its_license(client: TestClient) -> None:
    legal = client.get("/assets/app.js.LEGAL.txt")
    assert legal.status_code == 200
    assert "Chart.js v4." in legal.text and "MIT License" in legal.text


@pytest.mark.parametrize("name", ["nope.js", ".hidden", "..%2Fsettings.py", "%2E%2E"])
def test_other_names_are_404(client: TestClient, name: str) -> None:
    response = client.get(f"/assets/{name}")
    assert response.status_code == 404


def test_a_missing_build_says_what_to_run(tmp_path: Path) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(web_router(tmp_path / "dist"))
    with TestClient(app) as client:
        response = client.get("/")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "ui_not_built"
        assert "npm run build" in error["message"]
        assert client.get("/assets/app.js").status_code == 404


def test_the_ui_is_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/assets/{name}" not in paths
    assert {"/v1/campaigns", "/v1/campaigns/{campaign_id}/metrics", "/v1/session"} <= set(paths)


def test_the_ui_directory_can_be_set(database_url: str, tmp_path: Path) -> None:
    # As the container image does (PULSE_DASHBOARD_WEB_DIR): its build lives outside the package.
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>elsewhere</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log('elsewhere')")
    settings = DashboardSettings(
        database_url=database_url, dashboard_token=SecretStr("t"), dashboard_web_dir=tmp_path
    )
    with TestClient(create_app(settings)) as client:
        assert "elsewhere" in client.get("/").text
        assert client.get("/assets/app.js").text == "console.log('elsewhere')"
