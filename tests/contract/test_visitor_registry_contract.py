"""The VisitorRegistry port's contract: the SQL registry and the Redis one answer alike."""

import asyncio
import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
import redis

from entry_service.adapters.redis_visitors import RedisVisitorRegistry
from entry_service.adapters.sql_visitors import SqlVisitorRegistry
from entry_service.domain.sites import VisitorRegistry
from servicekit.database import Database
from tests.engines import engine_url

T1 = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
T2 = T1 + timedelta(minutes=5)


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.integration)])
def registry(request: pytest.FixtureRequest, database: Database) -> Iterator[VisitorRegistry]:
    if request.param == "sql":
        yield SqlVisitorRegistry(database)
        return
    client = redis.Redis.from_url(engine_url("redis"))
    prefix = f"pulse-test-{uuid.uuid4().hex[:12]}"
    try:
        yield RedisVisitorRegistry(client, SqlVisitorRegistry(database), key_prefix=prefix)
    finally:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
        client.close()


def first_seen(
    registry: VisitorRegistry, site_id: UUID, keys: Sequence[str], now: datetime
) -> dict[str, datetime]:
    return asyncio.run(registry.first_seen(site_id, keys, now))


def test_new_visitors_are_first_seen_now_and_returning_ones_keep_their_time(
    registry: VisitorRegistry,
) -> None:
    site = uuid.uuid4()
    assert first_seen(registry, site, ["a:1", "u:42"], T1) == {"a:1": T1, "u:42": T1}
    assert first_seen(registry, site, ["u:42", "a:2"], T2) == {"u:42": T1, "a:2": T2}
    assert first_seen(registry, site, ["a:1"], T2 + timedelta(days=3)) == {"a:1": T1}


def test_sites_do_not_share_visitors(registry: VisitorRegistry) -> None:
    one, other = uuid.uuid4(), uuid.uuid4()
    first_seen(registry, one, ["a:1"], T1)
    assert first_seen(registry, other, ["a:1"], T2) == {"a:1": T2}


def test_times_come_back_exact_and_in_utc(registry: VisitorRegistry) -> None:
    seoul = T1.astimezone(timezone(timedelta(hours=9)))
    seen = first_seen(registry, uuid.uuid4(), ["a:x"], seoul)["a:x"]
    assert seen == T1 and seen.utcoffset() == timedelta(0)


def test_odd_keys_and_repeats_in_one_batch(registry: VisitorRegistry) -> None:
    keys = ["a:with space", "a:{brace}", "u:ünï/cödé", "a:" + "x" * 198]
    site = uuid.uuid4()
    assert first_seen(registry, site, keys, T1) == dict.fromkeys(keys, T1)
    assert first_seen(registry, site, [*keys, *keys], T2) == dict.fromkeys(keys, T1)


@pytest.mark.integration
def test_redis_keeps_first_sightings_with_a_sliding_expiry(database: Database) -> None:
    client = redis.Redis.from_url(engine_url("redis"))
    prefix = f"pulse-test-{uuid.uuid4().hex[:12]}"
    site = uuid.uuid4()
    try:
        registry = RedisVisitorRegistry(client, SqlVisitorRegistry(database), key_prefix=prefix)
        first_seen(registry, site, ["a:1"], T1)
        key = f"{prefix}:visitor:{{{site}}}:a:1"
        assert client.get(key) == T1.isoformat().encode()
        ttl = client.ttl(key)
        assert isinstance(ttl, int) and 399 * 86400 < ttl <= 400 * 86400
    finally:
        for k in client.scan_iter(match=f"{prefix}:*"):
            client.delete(k)
        client.close()


def test_redis_down_falls_back_to_the_sql_registry(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    sql = SqlVisitorRegistry(database)
    registry = RedisVisitorRegistry(client, sql)
    site = uuid.uuid4()
    with caplog.at_level(logging.WARNING):
        assert first_seen(registry, site, ["a:1"], T1) == {"a:1": T1}
        assert first_seen(registry, site, ["a:1", "a:2"], T2) == {"a:1": T1, "a:2": T2}
    assert "visitor_registry_redis_unavailable" in caplog.text
    assert first_seen(sql, site, ["a:1"], T2) == {"a:1": T1}  # recorded in SQL
    client.close()
