"""`GET /v1/sites/{site_id}/users/{user_key}/summary` over SQLite and Postgres, with no cache
(embedded) and with the Redis cache the consumer invalidates after each committed batch."""

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest
import redis
from fastapi.testclient import TestClient

from common_messaging import EventOccurred
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import EventOccurrenceService
from core_service.main import create_app
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from servicekit.database import Database
from tests.engines import engine_url
from tests.support.factories import NOW, occurrence, purchase, seed_site
from user_summaries.ports import UserSummaryView
from user_summaries.redis_cache import RedisSummaryCache, SummaryInvalidator

TOKEN = "test-token"


@dataclass
class World:
    client: TestClient
    db: Database
    site_id: UUID
    cached: bool

    def store(self, *events: EventOccurred) -> None:
        """What the consumer does: commit the batch, then invalidate its users' summaries."""
        with self.db.unit_of_work() as session:
            EventOccurrenceService().store(events, SqlOccurrenceRepository(session))
        SummaryInvalidator(self.client.app.state.ports.summary_cache)(events)  # type: ignore[attr-defined]

    def store_without_invalidating(self, *events: EventOccurred) -> None:
        with self.db.unit_of_work() as session:
            EventOccurrenceService().store(events, SqlOccurrenceRepository(session))

    def summary(self, user_key: str, site_id: UUID | None = None) -> Any:
        site = site_id or self.site_id
        return self.client.get(f"/v1/sites/{site}/users/{quote(user_key, safe='')}/summary")


def _forget_site(redis_url: str, site_id: UUID) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{{{site_id}:*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture(params=["no_cache", pytest.param("redis", marks=pytest.mark.integration)])
def world(request: pytest.FixtureRequest, database_url: str, data_dir: Path) -> Iterator[World]:
    redis_url = engine_url("redis") if request.param == "redis" else None
    db = Database(make_engine(database_url))
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    settings = CoreSettings(
        admin_token=TOKEN,
        database_url=database_url,
        data_dir=data_dir,
        consumer_enabled=False,
        redis_url=redis_url,
    )
    app = create_app(settings)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield World(client, db, site_id, cached=redis_url is not None)
    finally:
        db.dispose()
        if redis_url:
            _forget_site(redis_url, site_id)


def test_summary_of_a_known_user(world: World) -> None:
    world.store(
        occurrence(site_id=world.site_id, user_id="42"),
        purchase(
            "19.99", site_id=world.site_id, user_id="42", occurred_at=NOW + timedelta(hours=1)
        ),
        purchase("0.01", site_id=world.site_id, user_id="42", occurred_at=NOW + timedelta(hours=2)),
    )
    response = world.summary("u:42")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "site_id": str(world.site_id),
        "user_key": "u:42",
        "first_seen_at": "2026-11-23T10:00:00Z",
        "last_seen_at": "2026-11-23T12:00:00Z",
        "event_count": 3,
        "last_purchase_at": "2026-11-23T12:00:00Z",
        "purchase_count": 2,
        "total_spent": "20.00",
        "entry_count": 0,
        "last_entry_at": None,
    }
    assert world.summary("u:42").json() == response.json()  # from the cache, when there is one


def test_anonymous_keys_with_odd_characters_are_url_encoded(world: World) -> None:
    key = "a:anon/1 ü?#%"
    world.store(occurrence(site_id=world.site_id, anonymous_id=key[2:]))
    body = world.summary(key).json()
    assert body["user_key"] == key and body["event_count"] == 1
    assert body["purchase_count"] == 0 and body["last_purchase_at"] is None
    assert body["total_spent"] == "0.00"


def test_unknown_users_and_sites_are_404(world: World) -> None:
    world.store(occurrence(site_id=world.site_id, user_id="42"))
    for response in (world.summary("u:43"), world.summary("u:42", site_id=uuid.uuid4())):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "user_not_found"
    assert world.summary("a:42").status_code == 404  # anonymous id 42 is another user


@pytest.mark.parametrize("key", ["42", "x:42", "u:", "u:" + "x" * 199])
def test_malformed_user_keys_are_422(world: World, key: str) -> None:
    response = world.summary(key)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "user_key"


def test_the_admin_token_is_required(world: World) -> None:
    response = world.client.get(
        f"/v1/sites/{world.site_id}/users/u%3A1/summary", headers={"Authorization": "Bearer no"}
    )
    assert response.status_code == 401


def test_committed_batches_show_at_once(world: World) -> None:
    assert world.summary("u:7").status_code == 404  # "no such user" may be cached too
    world.store(occurrence(site_id=world.site_id, user_id="7"))
    assert world.summary("u:7").json()["event_count"] == 1
    world.store(purchase("5.50", site_id=world.site_id, user_id="7"))
    body = world.summary("u:7").json()
    assert body["event_count"] == 2 and body["total_spent"] == "5.50"


def test_without_invalidation_the_cache_serves_its_value_within_the_ttl(world: World) -> None:
    world.store(occurrence(site_id=world.site_id, user_id="8"))
    assert world.summary("u:8").json()["event_count"] == 1
    world.store_without_invalidating(occurrence(site_id=world.site_id, user_id="8"))
    assert world.summary("u:8").json()["event_count"] == (1 if world.cached else 2)
    SummaryInvalidator(world.client.app.state.ports.summary_cache)(  # type: ignore[attr-defined]
        [occurrence(site_id=world.site_id, user_id="8")]
    )
    assert world.summary("u:8").json()["event_count"] == 2


# The Redis cache alone.


def _view(site_id: UUID, count: int) -> UserSummaryView:
    return UserSummaryView(site_id, "u:1", NOW, NOW, count, None, 0, Decimal("0.00"))


@pytest.fixture
def cache() -> Iterator[RedisSummaryCache]:
    client = redis.Redis.from_url(engine_url("redis"), socket_timeout=5)
    prefix = f"pulse-test-{uuid.uuid4().hex[:12]}"
    yield RedisSummaryCache(client, key_prefix=prefix)
    for pattern in (f"{prefix}:*", f"lock:{prefix}:*", f"lock-signal:{prefix}:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    client.close()


@pytest.mark.integration
def test_a_stampede_on_a_cold_summary_reads_the_database_once(cache: RedisSummaryCache) -> None:
    site_id, calls, lock = uuid.uuid4(), [], threading.Lock()

    def load() -> UserSummaryView:
        with lock:
            calls.append(1)
        threading.Event().wait(0.3)
        return _view(site_id, 1)

    results: list[UserSummaryView | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load(site_id, "u:1", load)))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results == [_view(site_id, 1)] * 20


@pytest.mark.integration
def test_a_fill_racing_an_invalidation_is_not_cached(cache: RedisSummaryCache) -> None:
    site_id = uuid.uuid4()

    def load_then_invalidated() -> UserSummaryView:
        cache.invalidate(site_id, ["u:1"])  # the consumer commits while this read runs
        return _view(site_id, 1)

    assert cache.get_or_load(site_id, "u:1", load_then_invalidated) == _view(site_id, 1)
    assert cache.get_or_load(site_id, "u:1", lambda: _view(site_id, 2)) == _view(site_id, 2)
    assert cache.get_or_load(site_id, "u:1", lambda: _view(site_id, 3)) == _view(site_id, 2)


def test_redis_down_the_summary_is_read_from_the_database(
    database_url: str, data_dir: Path
) -> None:
    db = Database(make_engine(database_url))
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
        EventOccurrenceService().store(
            [occurrence(site_id=site_id, user_id="1")], SqlOccurrenceRepository(s)
        )
    db.dispose()
    settings = CoreSettings(
        admin_token=TOKEN,
        database_url=database_url,
        data_dir=data_dir,
        consumer_enabled=False,
        redis_url="redis://127.0.0.1:1/0",
    )
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        response = client.get(f"/v1/sites/{site_id}/users/u%3A1/summary")
        assert response.status_code == 200 and response.json()["event_count"] == 1
        # Redis has a database fallback: the service stays ready, and says it is degraded.
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["redis"].startswith("error")
