"""The VisitorRegistry port's contract: the SQL registry and the Redis one answer alike."""

import asyncio
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
import redis
import redis.asyncio as aioredis

from entry_service.adapters.redis_visitors import RedisVisitorRegistry
from entry_service.adapters.sql_visitors import SqlVisitorRegistry
from entry_service.domain.sites import VisitorRegistry
from servicekit.database import Database
from servicekit.redis_client import open_async_redis
from tests.engines import engine_url

T1 = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
T2 = T1 + timedelta(minutes=5)


@dataclass(frozen=True)
class Bound:
    """A registry and the one event loop its (async) Redis client lives on."""

    registry: VisitorRegistry
    runner: asyncio.Runner


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as r:
        yield r


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.integration)])
def registry(
    request: pytest.FixtureRequest, database: Database, runner: asyncio.Runner
) -> Iterator[Bound]:
    if request.param == "sql":
        yield Bound(SqlVisitorRegistry(database), runner)
        return
    client = open_async_redis(engine_url("redis"))
    prefix = f"pulse-test-{uuid.uuid4().hex[:12]}"
    try:
        yield Bound(
            RedisVisitorRegistry(client, SqlVisitorRegistry(database), key_prefix=prefix), runner
        )
    finally:
        runner.run(_delete_prefixed(client, prefix))
        runner.run(client.aclose())


async def _delete_prefixed(client: aioredis.Redis, prefix: str) -> None:
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        await client.delete(key)


def first_seen(
    bound: Bound, site_id: UUID, keys: Sequence[str], now: datetime
) -> dict[str, datetime]:
    return bound.runner.run(bound.registry.first_seen(site_id, keys, now))


def test_new_visitors_are_first_seen_now_and_returning_ones_keep_their_time(
    registry: Bound,
) -> None:
    site = uuid.uuid4()
    assert first_seen(registry, site, ["a:1", "u:42"], T1) == {"a:1": T1, "u:42": T1}
    assert first_seen(registry, site, ["u:42", "a:2"], T2) == {"u:42": T1, "a:2": T2}
    assert first_seen(registry, site, ["a:1"], T2 + timedelta(days=3)) == {"a:1": T1}


def test_sites_do_not_share_visitors(registry: Bound) -> None:
    one, other = uuid.uuid4(), uuid.uuid4()
    first_seen(registry, one, ["a:1"], T1)
    assert first_seen(registry, other, ["a:1"], T2) == {"a:1": T2}


def test_times_come_back_exact_and_in_utc(registry: Bound) -> None:
    seoul = T1.astimezone(timezone(timedelta(hours=9)))
    seen = first_seen(registry, uuid.uuid4(), ["a:x"], seoul)["a:x"]
    assert seen == T1 and seen.utcoffset() == timedelta(0)


def test_odd_keys_and_repeats_in_one_batch(registry: Bound) -> None:
    keys = ["a:with space", "a:{brace}", "u:ünï/cödé", "a:" + "x" * 198]
    site = uuid.uuid4()
    assert first_seen(registry, site, keys, T1) == dict.fromkeys(keys, T1)
    assert first_seen(registry, site, [*keys, *keys], T2) == dict.fromkeys(keys, T1)


@pytest.mark.integration
def test_redis_keeps_first_sightings_with_a_sliding_expiry(
    database: Database, runner: asyncio.Runner
) -> None:
    client = redis.Redis.from_url(engine_url("redis"))
    async_client = open_async_redis(engine_url("redis"))
    prefix = f"pulse-test-{uuid.uuid4().hex[:12]}"
    site = uuid.uuid4()
    try:
        registry = RedisVisitorRegistry(
            async_client, SqlVisitorRegistry(database), key_prefix=prefix
        )
        first_seen(Bound(registry, runner), site, ["a:1"], T1)
        key = f"{prefix}:visitor:{{{site}}}:a:1"
        assert client.get(key) == T1.isoformat().encode()
        ttl = client.ttl(key)
        assert isinstance(ttl, int) and 399 * 86400 < ttl <= 400 * 86400
    finally:
        for k in client.scan_iter(match=f"{prefix}:*"):
            client.delete(k)
        client.close()
        runner.run(async_client.aclose())


def test_redis_down_falls_back_to_the_sql_registry(
    database: Database, caplog: pytest.LogCaptureFixture, runner: asyncio.Runner
) -> None:
    client = open_async_redis("redis://127.0.0.1:1/0")
    sql = Bound(SqlVisitorRegistry(database), runner)
    registry = Bound(RedisVisitorRegistry(client, sql.registry), runner)
    site = uuid.uuid4()
    with caplog.at_level(logging.WARNING):
        assert first_seen(registry, site, ["a:1"], T1) == {"a:1": T1}
        assert first_seen(registry, site, ["a:1", "a:2"], T2) == {"a:1": T1, "a:2": T2}
    assert "visitor_registry_redis_unavailable" in caplog.text
    assert first_seen(sql, site, ["a:1"], T2) == {"a:1": T1}  # recorded in SQL
    runner.run(client.aclose())
