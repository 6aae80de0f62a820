"""`POST /v1/events` is served by a direct Starlette route for speed and by FastAPI's documented
route while a test overrides one of its dependencies. Both must give the same answers, headers
and metrics labels, and publish the same events."""

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from common_messaging import EVENTS_RAW, decode_occurrences
from common_messaging.bus.sqlite_log import SqliteLogConsumer
from datastore.engine import make_engine
from entry_service.api.deps import IngestPorts, get_entry_settings, get_ports
from entry_service.main import create_app
from entry_service.settings import EntrySettings
from entry_service.wiring import EntryServicePorts
from servicekit.database import Database
from tests.support.bus_down import BusDown
from tests.support.factories import seed_campaign, seed_definition, seed_site

SHOP = "https://shop.example"
JSON = {"Content-Type": "application/json"}
BEACON = {"Content-Type": "text/plain;charset=UTF-8"}  # what the snippet's sendBeacon sends
NOW = datetime.now(UTC).isoformat()


def _event(n: int, **fields: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.UUID(int=n)),
        "type": "page_view",
        "name": "Landing viewed",
        "occurred_at": NOW,
        "anonymous_id": "anon-1",
        "url": "https://shop.example/landing",
    }
    return {**event, **fields}


def _batch(site_key: str, events: list[dict[str, Any]], **fields: Any) -> bytes:
    return json.dumps({"site_key": site_key, "events": events, **fields}).encode()


@pytest.fixture
def served(migrated_sqlite: Path, data_dir: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    path = data_dir / "pulse.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    url = f"sqlite:///{path}"
    db = Database(make_engine(url))
    with db.unit_of_work() as s:
        site = seed_site(s)
        _, (activity, _) = seed_campaign(s, site)
        seed_definition(s, site, "Landing viewed", "page_view", activity=activity, url_pattern="/")
        keys = {
            "site": site.site_key,
            "no_origins": seed_site(s, origins=[]).site_key,
            "inactive": seed_site(s, active=False).site_key,
        }
    db.dispose()
    with TestClient(create_app(EntrySettings(data_dir=data_dir, database_url=url))) as client:
        yield client, keys


def _requests(keys: dict[str, str]) -> list[tuple[str, str, str, dict[str, str], bytes]]:
    """(name, method, path, headers, body); a name starting with "down" is sent while the
    event bus is down."""
    site, ten, ev = keys["site"], [_event(i) for i in range(10)], "/v1/events"
    partly_bad = [_event(20), _event(21, occurred_at="yesterday"), _event(22, type="nope")]
    shop, evil = {**JSON, "Origin": SHOP}, {**JSON, "Origin": "https://evil.example"}
    ask = {"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    return [
        ("ten events", "POST", ev, shop, _batch(site, ten)),
        ("beacon", "POST", ev, {**BEACON, "Origin": SHOP}, _batch(site, ten[:2])),
        ("no origin", "POST", ev, {}, _batch(site, ten[:1], sent_at=NOW)),
        ("partly bad", "POST", ev, shop, _batch(site, partly_bad)),
        ("invalid json", "POST", ev, shop, b"{not json"),
        ("empty body", "POST", ev, BEACON, b""),
        ("no site key", "POST", ev, shop, b'{"events":[]}'),
        ("no events", "POST", ev, JSON, _batch(site, [])),
        ("none valid", "POST", ev, JSON, _batch(site, [{"type": "nope"}])),
        ("too many", "POST", ev, shop, _batch(site, ten * 51)),
        ("too large", "POST", ev, shop, b"{" + b" " * 600_000 + b"}"),
        ("unknown site", "POST", ev, shop, _batch("pk_nope", ten)),
        ("inactive", "POST", ev, shop, _batch(keys["inactive"], ten)),
        ("evil origin", "POST", ev, evil, _batch(site, ten)),
        ("no origins", "POST", ev, shop, _batch(keys["no_origins"], ten)),
        ("down", "POST", ev, shop, _batch(site, ten)),
        ("down, no origin", "POST", ev, BEACON, _batch(site, ten)),
        ("preflight", "OPTIONS", ev, ask, b""),
        ("GET", "GET", ev, {}, b""),
        ("trailing slash", "POST", ev + "/", JSON, _batch(site, ten)),
    ]  # fmt: skip


def _answers(client: TestClient, keys: dict[str, str]) -> list[tuple[object, ...]]:
    """Each request's status, body, headers, and how often FastAPI solved dependencies for it."""
    app: Any = client.app
    ports: EntryServicePorts = app.state.ports
    down = replace(ports, ingest=replace(ports.ingest, publisher=BusDown()))
    solving = fastapi.routing.solve_dependencies
    solved = 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal solved
        solved += 1
        return await solving(*args, **kwargs)

    rows = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastapi.routing, "solve_dependencies", counted)
        for name, method, path, headers, body in _requests(keys):
            app.state.ports = down if name.startswith("down") else ports
            solved = 0
            r = client.request(method, path, headers=headers, content=body, follow_redirects=False)
            kept = sorted((k, v) for k, v in r.headers.items() if k not in ("x-request-id", "date"))
            rows.append((name, r.status_code, r.text, kept, solved))
    app.state.ports = ports
    return rows


def _route_counts(client: TestClient) -> dict[str, float]:
    """`pulse_http_requests_total` of the path's template, by method and status."""
    counts = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("pulse_http_requests_total{") and 'route="/v1/events"' in line:
            labels, value = line.rsplit(" ", 1)
            counts[labels] = float(value)
    return counts


def _published(data_dir: Path) -> int:
    consumer = SqliteLogConsumer(data_dir / "bus.sqlite3", f"t-{uuid.uuid4()}", [EVENTS_RAW])
    return sum(len(decode_occurrences(m.value)) for m in consumer.poll(10_000, 0.1))


def _posts(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [row for row in rows if row[0] not in ("preflight", "GET", "trailing slash")]


def test_the_direct_route_answers_as_the_documented_route(
    served: tuple[TestClient, dict[str, str]], data_dir: Path
) -> None:
    client, keys = served
    # The registry is the process's: earlier tests' requests are in it, so compare what each
    # pass added.
    before = _route_counts(client)
    as_served = _answers(client, keys)
    # The direct route took every POST to the path: FastAPI solved no dependency for them.
    assert {row[4] for row in _posts(as_served)} == {0}
    statuses = {row[0]: row[1] for row in as_served}
    assert statuses["ten events"] == statuses["beacon"] == statuses["partly bad"] == 202
    assert [statuses[n] for n in ("invalid json", "no site key", "too many", "too large")] == [
        400,
        422,
        413,
        413,
    ]
    assert [statuses[n] for n in ("unknown site", "inactive", "evil origin", "down")] == [
        404,
        403,
        403,
        503,
    ]
    assert statuses["preflight"] == 204 and statuses["GET"] == 405
    assert statuses["trailing slash"] == 307
    published = _published(data_dir)
    after_direct = _route_counts(client)
    counted = {k: v - before.get(k, 0.0) for k, v in after_direct.items()}
    assert sum(counted.values()) >= len(_posts(as_served))  # this pass's requests, counted

    # The same requests through FastAPI's documented route: a dependency override (here the
    # settings unchanged) sends every request there.
    app: Any = client.app
    settings = app.state.settings
    app.dependency_overrides[get_entry_settings] = lambda: settings
    documented = _answers(client, keys)
    assert {row[4] for row in _posts(documented)} == {1}
    assert [row[:4] for row in documented] == [row[:4] for row in as_served]
    # The same events published, and the same metrics lines counted twice.
    assert published == 10 + 2 + 1 + 1 and _published(data_dir) == 2 * published
    after_documented = _route_counts(client)
    assert {k: v - after_direct.get(k, 0.0) for k, v in after_documented.items()} == counted


def test_overrides_of_the_routes_dependencies_take_effect(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = served
    app: Any = client.app
    batch = _batch(keys["site"], [_event(1)])
    ports: IngestPorts = app.state.ports.ingest
    app.dependency_overrides[get_ports] = lambda: replace(ports, publisher=BusDown())
    refused = client.post("/v1/events", content=batch)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
    app.dependency_overrides.clear()
    small = app.state.settings.model_copy(update={"max_batch_bytes": 100})
    app.dependency_overrides[get_entry_settings] = lambda: small
    refused = client.post("/v1/events", content=batch)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "batch_too_large"
    app.dependency_overrides.clear()

    # Without overrides the direct route serves again, with the app's own ports and settings.
    solving = fastapi.routing.solve_dependencies
    calls: list[object] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await solving(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastapi.routing, "solve_dependencies", counted)
        accepted = client.post("/v1/events", content=batch)
    assert accepted.status_code == 202 and accepted.json() == {"accepted": 1, "rejected": []}
    assert calls == []
