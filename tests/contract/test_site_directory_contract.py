"""The SiteDirectory port's contract: the embedded directory and the Redis one answer alike.

The Redis directory also has to keep a stampede on a cold key to one database read (across
processes, through its python-redis-lock fill lock) and keep answering when Redis is down.
"""

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import redis
from sqlalchemy import update
from sqlalchemy.orm import Session

from datastore.schema import Site
from entry_service.adapters.redis_sites import RedisCachedSiteDirectory
from entry_service.adapters.sql_sites import CachedSqlSiteDirectory, load_site
from entry_service.domain.sites import SiteConfig, SiteDirectory
from servicekit.database import Database
from tests.engines import engine_url
from tests.support.factories import seed_campaign, seed_definition, seed_site


@dataclass
class CountingLoader:
    """`load_site` that counts its calls (and is slow enough for callers to pile up)."""

    delay_s: float = 0.0
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, session: Session, site_key: str) -> SiteConfig | None:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay_s)
        return load_site(session, site_key)


MakeDirectory = Callable[..., SiteDirectory]


@contextmanager
def scratch_redis() -> Iterator[tuple[redis.Redis, str]]:
    """A client on the stack's Redis and a key prefix of our own, whose keys are deleted after."""
    client = redis.Redis.from_url(engine_url("redis"), socket_timeout=5)
    prefix = f"pulse-test-{uuid.uuid4().hex[:12]}"
    try:
        yield client, prefix
    finally:
        for pattern in (f"{prefix}:*", f"lock:{prefix}:*", f"lock-signal:{prefix}:*"):
            for key in client.scan_iter(match=pattern, count=1000):
                client.delete(key)
        client.close()


@pytest.fixture
def redis_scratch() -> Iterator[tuple[redis.Redis, str]]:
    with scratch_redis() as scratch:
        yield scratch


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.integration)])
def make_directory(request: pytest.FixtureRequest, database: Database) -> Iterator[MakeDirectory]:
    if request.param == "embedded":

        def embedded(local_ttl_s: float = 60.0, **_: object) -> SiteDirectory:
            return CachedSqlSiteDirectory(database, local_ttl_s)

        yield embedded
        return
    with scratch_redis() as (client, prefix):

        def on_redis(
            local_ttl_s: float = 60.0, ttl_s: int = 60, negative_ttl_s: int = 10
        ) -> SiteDirectory:
            return RedisCachedSiteDirectory(
                client,
                database,
                ttl_s=ttl_s,
                local_ttl_s=local_ttl_s,
                negative_ttl_s=negative_ttl_s,
                key_prefix=prefix,
            )

        yield on_redis


@pytest.fixture
def site_key(database: Database) -> str:
    with database.unit_of_work() as s:
        site = seed_site(s, origins=["https://shop.example", "https://m.shop.example"])
        _, (activity, _) = seed_campaign(s, site)
        seed_definition(s, site, "Landing", "page_view", activity=activity, url_pattern="/l*")
        seed_definition(s, site, "Coupon", "click", selector="#coupon")
        seed_definition(s, site, "Old", "click", active=False, selector="#old")
        return site.site_key


def expected(database: Database, key: str) -> SiteConfig | None:
    with database.reader() as session:
        return load_site(session, key)


def by_key(directory: SiteDirectory, key: str) -> SiteConfig | None:
    return asyncio.run(directory.by_key(key))


def test_a_known_key_gives_the_site_with_all_its_definitions(
    make_directory: MakeDirectory, database: Database, site_key: str
) -> None:
    site = by_key(make_directory(), site_key)
    assert site is not None and site == expected(database, site_key)
    assert {d.name for d in site.definitions} == {"Landing", "Coupon", "Old"}
    assert {d.name for d in site.active_definitions()} == {"Landing", "Coupon"}
    # A second directory (another process) answers the same, from its cache or not.
    assert by_key(make_directory(), site_key) == site


@pytest.mark.parametrize("key", ["pk_unknown", "", "x" * 65, "pk_{weird}key"])
def test_an_unknown_key_gives_none(make_directory: MakeDirectory, site_key: str, key: str) -> None:
    directory = make_directory()
    assert by_key(directory, key) is None
    assert by_key(directory, key) is None


def test_changes_show_once_the_caches_expire(
    make_directory: MakeDirectory, database: Database, site_key: str
) -> None:
    directory = make_directory(local_ttl_s=0.0, ttl_s=1, negative_ttl_s=1)
    later = f"pk_later_{uuid.uuid4().hex[:8]}"
    assert by_key(directory, later) is None
    assert by_key(directory, site_key) is not None
    with database.unit_of_work() as s:
        s.execute(update(Site).where(Site.site_key == site_key).values(site_key=later))
    time.sleep(1.2)  # the longest TTL of the directory under test
    assert by_key(directory, site_key) is None
    moved = by_key(directory, later)
    assert moved is not None and moved == expected(database, later)


# The Redis directory alone.


@pytest.fixture
def loader() -> CountingLoader:
    return CountingLoader(delay_s=0.3)


@pytest.mark.integration
def test_a_stampede_in_one_process_reads_the_database_once(
    redis_scratch: tuple[redis.Redis, str],
    database: Database,
    site_key: str,
    loader: CountingLoader,
) -> None:
    client, prefix = redis_scratch
    directory = RedisCachedSiteDirectory(
        client, database, ttl_s=60, local_ttl_s=60, key_prefix=prefix, loader=loader
    )

    async def stampede() -> list[SiteConfig | None]:
        return await asyncio.gather(*(directory.by_key(site_key) for _ in range(20)))

    sites = asyncio.run(stampede())
    assert loader.calls == 1
    assert all(s == expected(database, site_key) for s in sites)


@pytest.mark.integration
def test_a_stampede_across_processes_reads_the_database_once(
    redis_scratch: tuple[redis.Redis, str],
    database: Database,
    site_key: str,
    loader: CountingLoader,
) -> None:
    """Twenty directories (twenty pods' worth of local caches) share only Redis and its lock."""
    client, prefix = redis_scratch
    directories = [
        RedisCachedSiteDirectory(
            client, database, ttl_s=60, local_ttl_s=60, key_prefix=prefix, loader=loader
        )
        for _ in range(20)
    ]

    async def stampede() -> list[SiteConfig | None]:
        return await asyncio.gather(*(d.by_key(site_key) for d in directories))

    sites = asyncio.run(stampede())
    assert loader.calls == 1
    assert all(s == expected(database, site_key) for s in sites)
    assert not list(client.scan_iter(match=f"lock:{prefix}:*"))  # every lock released


@pytest.mark.integration
def test_unknown_keys_are_cached_briefly_in_redis(
    redis_scratch: tuple[redis.Redis, str], database: Database, loader: CountingLoader
) -> None:
    client, prefix = redis_scratch
    for _ in range(3):  # three processes
        directory = RedisCachedSiteDirectory(
            client, database, ttl_s=60, local_ttl_s=60, key_prefix=prefix, loader=loader
        )
        assert by_key(directory, "pk_nope") is None
    assert loader.calls == 1
    ttl = client.ttl(f"{prefix}:site:{{pk_nope}}")
    assert isinstance(ttl, int) and 0 < ttl <= 10


def test_redis_down_falls_back_to_the_database(
    database: Database, site_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    directory = RedisCachedSiteDirectory(client, database, ttl_s=60, local_ttl_s=0)
    with caplog.at_level(logging.WARNING):
        assert by_key(directory, site_key) == expected(database, site_key)
        assert by_key(directory, "pk_unknown") is None
    assert "site_cache_redis_unavailable" in caplog.text
    client.close()
