"""The tracking snippet over HTTP: its two URLs and their caching, a missing build, renamed
script and collect paths, CORS on the public endpoints, and the demo shop page."""

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from datastore.engine import make_engine
from entry_service.main import create_app
from entry_service.settings import EntrySettings
from pulse.demo import DemoIds
from pulse.demo_page import DemoPage
from servicekit.database import Database
from tests.support.factories import seed_campaign, seed_definition, seed_site

CODE = b'(()=>{window.pulse_built="' + b"x" * 2000 + b'"})();\n'


def _build(directory: Path, version: str = "1.2.3", code: bytes = CODE) -> Path:
    """What snippet/build.mjs writes: the file and the manifest that names it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pulse.js").write_bytes(code)
    manifest = {"version": version, "file": "pulse.js", "versioned_file": f"pulse-{version}.js"}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


@pytest.fixture
def site_key(database_url: str) -> str:
    db = Database(make_engine(database_url))
    with db.unit_of_work() as s:
        site = seed_site(s, origins=["https://shop.example"])
        _, (activity, _) = seed_campaign(s, site)
        seed_definition(
            s, site, "Landing viewed", "page_view", activity=activity, url_pattern="/landing*"
        )
        key = site.site_key
    db.dispose()
    return key


def _client(data_dir: Path, database_url: str, **settings: Any) -> TestClient:
    return TestClient(
        create_app(EntrySettings(data_dir=data_dir, database_url=database_url, **settings))
    )


@pytest.fixture
def client(data_dir: Path, database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with _client(data_dir, database_url, snippet_dir=_build(tmp_path / "dist")) as c:
        yield c


def test_latest_snippet_is_javascript_cached_five_minutes(client: TestClient) -> None:
    response = client.get("/snippet.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == CODE
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == "*"
    etag = response.headers["etag"]
    again = client.get("/snippet.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_versioned_snippet_is_immutable_and_only_for_the_built_version(
    client: TestClient,
) -> None:
    response = client.get("/snippet/1.2.3.js")
    assert response.status_code == 200 and response.content == CODE
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    missing = client.get("/snippet/1.2.2.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "snippet_version_not_found"
    assert missing.json()["error"]["details"] == {"available": ["1.2.3"]}


def test_snippet_is_gzipped_for_browsers_that_accept_it(client: TestClient) -> None:
    raw = client.get("/snippet.js", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["vary"] == "Accept-Encoding"
    assert raw.content == CODE  # the client undid the gzip
    assert int(raw.headers["content-length"]) == len(gzip.compress(CODE, mtime=0))
    assert int(raw.headers["content-length"]) < len(CODE) / 4


def test_a_new_build_is_served_without_a_restart(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/snippet/1.2.3.js").status_code == 200
    _build(tmp_path / "dist", version="1.3.0", code=b"/* next */\n")
    assert client.get("/snippet.js").content == b"/* next */\n"
    assert client.get("/snippet/1.3.0.js").status_code == 200
    assert client.get("/snippet/1.2.3.js").status_code == 404


def test_unbuilt_snippet_is_a_clear_404_not_a_server_error(
    data_dir: Path, database_url: str, tmp_path: Path
) -> None:
    with _client(data_dir, database_url, snippet_dir=tmp_path / "nowhere") as c:
        for path in ("/snippet.js", "/snippet/0.1.0.js"):
            response = c.get(path)
            assert response.status_code == 404
            error = response.json()["error"]
            assert error["code"] == "snippet_not_built"
            assert "npm run build" in error["message"]
            assert error["details"] == {"snippet_dir": str(tmp_path / "nowhere")}


def test_renamed_script_path_serves_both_urls_there(
    data_dir: Path, database_url: str, tmp_path: Path
) -> None:
    dist = _build(tmp_path / "dist")
    with _client(data_dir, database_url, snippet_dir=dist, snippet_path="/assets/app.js") as c:
        assert c.get("/assets/app.js").content == CODE
        assert c.get("/assets/app/1.2.3.js").content == CODE
        assert c.get("/snippet.js").status_code == 404


@pytest.mark.parametrize("bad", ["snippet.js", "/snippet", "/a b.js", "/../x.js"])
def test_script_path_must_be_a_plain_js_path(bad: str) -> None:
    with pytest.raises(ValueError, match="snippet_path"):
        EntrySettings(snippet_path=bad)


def _batch(site_key: str) -> dict[str, Any]:
    return {
        "site_key": site_key,
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "type": "page_view",
                "name": "Landing viewed",
                "occurred_at": datetime.now(UTC).isoformat(),
                "anonymous_id": "anon-1",
            }
        ],
    }


def test_renamed_collect_path_takes_text_plain_batches_like_v1_events(
    data_dir: Path, database_url: str, site_key: str
) -> None:
    origin = {"Origin": "https://shop.example"}
    with _client(data_dir, database_url, collect_path="/p/e") as c:
        preflight = c.options("/p/e", headers={**origin, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
        body = json.dumps(_batch(site_key))
        response = c.post(
            "/p/e", content=body, headers={**origin, "Content-Type": "text/plain;charset=UTF-8"}
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 1, "rejected": []}
        assert response.headers["access-control-allow-origin"] == "https://shop.example"
        assert c.post("/v1/events", json=_batch(site_key)).status_code == 202
        refused = c.post("/p/e", json=_batch(site_key), headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in refused.headers


def test_default_collect_path_has_no_alias(client: TestClient, site_key: str) -> None:
    assert client.post("/p/e", json=_batch(site_key)).status_code in (404, 405)


def _demo_app(page: DemoPage) -> FastAPI:
    app = FastAPI()
    app.include_router(page.router())
    return app


def test_demo_page_waits_for_the_seed_then_embeds_site_key_and_install_tag() -> None:
    page = DemoPage("/assets/app.js", "http://127.0.0.1:8082")
    client = TestClient(_demo_app(page))
    waiting = client.get("/demo/coupon")
    assert waiting.status_code == 503 and waiting.headers["retry-after"] == "1"
    activity = str(uuid.uuid4())
    page.show(
        DemoIds(
            site_key="pk_demo</script>",
            campaign_id="c-1",
            definitions=[
                {"name": "coupon: page viewed", "activity_id": activity},
                {"name": "coupon: button clicked", "activity_id": activity},
            ],
        )
    )
    response = client.get("/demo/coupon")
    assert response.status_code == 200
    html = response.text
    assert '(window,document,"/assets/app.js")' in html
    assert "__SNIPPET_PATH__" not in html and "<!--PULSE_CONFIG-->" not in html
    assert '"siteKey": "pk_demo\\u003c/script>"' in html, "no value can end the script early"
    assert f'"activities": {{"coupon": "{activity}"}}' in html
    assert "http://127.0.0.1:8082/v1/campaigns/c-1/metrics" in html
    assert client.get("/demo/raffle/deep/link").text == html, "every SPA route is the page"
    root = client.get("/demo", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/demo/"
