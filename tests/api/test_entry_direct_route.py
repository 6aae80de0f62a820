"""`POST /v1/activities/{id}/entries` is served by a direct Starlette route for speed and by
FastAPI's documented route for everything that route alone decides (422s, dependency
overrides). Both must give the same answers, the same headers and the same metrics labels."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from datastore.engine import make_engine
from entry_service.api.deps import get_entry_ports
from entry_service.domain.entries import EntryPorts
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from migrations.runner import upgrade
from servicekit.database import Database
from tests.support.entries import add_activity, seed_shop

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROUTE = '"/v1/activities/{activity_id}/entries"'
JSON = {"Content-Type": "application/json"}

# (name, path under the activity's URL or a whole path, headers, body)
REQUESTS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("first", "", {**JSON, "Idempotency-Key": "k1"}, b'{"user_id":"u1"}'),
    ("retried", "", {**JSON, "Idempotency-Key": "k1"}, b'{"user_id":"u1"}'),
    ("second seat", "", {**JSON, "Idempotency-Key": "k2"}, b'{"user_id":"u2"}'),
    ("again, new key", "", {**JSON, "Idempotency-Key": "k3"}, b'{"user_id":"u2"}'),
    ("sold out", "", {**JSON, "Idempotency-Key": "k4"}, b'{"user_id":"u4"}'),
    ("no key", "", JSON, b'{"user_id":"u5"}'),
    ("key too long", "", {**JSON, "Idempotency-Key": "k" * 256}, b'{"user_id":"u6"}'),
    ("origin", "", {**JSON, "Idempotency-Key": "k7", "Origin": "https://x.example"}, b"{}"),
    ("bad json", "", {**JSON, "Idempotency-Key": "k8"}, b'{"user_id":'),
    ("bad body", "", {**JSON, "Idempotency-Key": "k9"}, b'{"user_id":5,"x":1}'),
    ("text/plain", "", {"Idempotency-Key": "k10"}, b'{"user_id":"u10"}'),
    ("too large", "", {**JSON, "Idempotency-Key": "k11"}, b'{"user_id":"' + b"x" * 9000 + b'"}'),
    ("hex id", "hex", {**JSON, "Idempotency-Key": "k12"}, b'{"user_id":"u12"}'),
    ("bad id", "/v1/activities/nope/entries", {**JSON, "Idempotency-Key": "k13"}, b"{}"),
    ("unknown id", f"/v1/activities/{uuid.UUID(int=7)}/entries", {"Idempotency-Key": "k14"}, b"{}"),
]  # fmt: skip


@pytest.fixture
def served(data_dir: Path) -> Iterator[tuple[TestClient, Database]]:
    url = f"sqlite:///{(data_dir / 'pulse.sqlite3').resolve()}"
    upgrade(url)
    db = Database(make_engine(url))
    with TestClient(create_entry(EntrySettings(data_dir=data_dir, database_url=url))) as client:
        yield client, db
    db.dispose()


def _answers(client: TestClient, activity: uuid.UUID) -> list[tuple[object, ...]]:
    rows = []
    for name, path, headers, body in REQUESTS:
        url = f"/v1/activities/{activity.hex if path == 'hex' else activity}/entries"
        url = path if path.startswith("/") else url
        r = client.post(url, headers=headers, content=body)
        text = UUID.sub("<id>", r.text.replace(str(activity), "<activity>"))
        kept = sorted((k, v) for k, v in r.headers.items() if k not in ("x-request-id", "date"))
        rows.append((name, r.status_code, text, kept))
    return rows


def _served_by_route(client: TestClient) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("pulse_http_requests_total{") and ROUTE in line
    )


def test_the_direct_route_answers_as_the_documented_route(
    served: tuple[TestClient, Database],
) -> None:
    client, db = served
    shop = seed_shop(db)
    direct = add_activity(db, shop.demo_campaign_id, capacity=2)
    documented = add_activity(db, shop.demo_campaign_id, capacity=2)

    before = _served_by_route(client)
    as_served = _answers(client, direct)
    # Every request counted under the route's template, whichever route took it.
    assert _served_by_route(client) - before == len(REQUESTS)
    assert [r[1] for r in as_served][:5] == [202, 202, 202, 202, 202]
    assert '"position":2' in as_served[2][2] and "already_entered" in as_served[3][2]
    assert "sold_out" in as_served[4][2]

    # The same requests through FastAPI's documented route: a dependency override (here the
    # ports unchanged) sends every request there.
    app = client.app
    ports: EntryPorts = app.state.ports.entries  # type: ignore[attr-defined]
    app.dependency_overrides[get_entry_ports] = lambda: ports  # type: ignore[attr-defined]
    assert _answers(client, documented) == as_served
