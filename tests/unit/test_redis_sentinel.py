"""`PULSE_REDIS_URL=redis+sentinel://…`: Pulse asks the Sentinels for the primary, and after the
primary is killed and a replica promoted it writes to the new primary, with no restart."""

import asyncio
import socket
import time
import uuid
from pathlib import Path

import pytest
import redis

from servicekit.redis_client import (
    PoolExhausted,
    SentinelTarget,
    close_async_redis,
    close_redis,
    open_async_redis,
    open_redis,
)
from tests.support.redis_sentinel import sentinelled_redis


@pytest.mark.parametrize(
    ("url", "nodes", "master", "db"),
    [
        ("redis+sentinel://a:26379,b:26380/orders/2", [("a", 26379), ("b", 26380)], "orders", 2),
        ("redis+sentinel://a/", [("a", 26379)], "mymaster", 0),
    ],
)
def test_sentinel_urls_parse(url: str, nodes: list[tuple[str, int]], master: str, db: int) -> None:
    assert SentinelTarget.parse(url) == SentinelTarget(nodes, master, db)
    assert SentinelTarget.parse("redis://127.0.0.1:6379/0") is None


@pytest.mark.integration
def test_a_killed_primary_is_replaced_without_a_restart(tmp_path: Path) -> None:
    with sentinelled_redis(tmp_path) as cluster:
        client = open_redis(cluster.url)
        client.set("before", "kept")
        deadline = time.monotonic() + 15
        while client.wait(1, 1000) < 1:  # until the replica has it (its first sync included)
            assert time.monotonic() < deadline, "the replica never caught up"
        cluster.kill_primary()
        deadline = time.monotonic() + 30
        while True:
            try:
                client.set("after", "written")
                break
            except redis.RedisError:
                assert time.monotonic() < deadline, "no primary was promoted within 30 s"
                time.sleep(0.2)
        assert client.get("before") == b"kept"
        role = client.execute_command("ROLE")[0]
        assert role == b"master"
        assert client.connection_pool.get_master_address()[1] == cluster.replica_port  # type: ignore[attr-defined]
        close_redis(client)

        async def async_client_finds_it() -> bytes | None:
            aclient = open_async_redis(cluster.url)
            try:
                return await aclient.get("after")
            finally:
                await close_async_redis(aclient)

        assert asyncio.run(async_client_finds_it()) == b"written"


@pytest.mark.integration
def test_the_sentinel_primary_pool_queues_then_sheds_as_pool_exhausted(tmp_path: Path) -> None:
    """The entry gate's client through Sentinel: a checkout waits for a busy connection, and one
    that waits past the pool's wait is `PoolExhausted` (the gate sheds it with a 503), not a plain
    `ConnectionError` (which sends the gate to the SQL fallback beside a working Redis)."""
    with sentinelled_redis(tmp_path) as cluster:

        async def run() -> None:
            shedding = open_async_redis(cluster.url, max_connections=1, pool_timeout_s=0.2)
            queueing = open_async_redis(cluster.url, max_connections=1, pool_timeout_s=5)
            held = f"pulse-test:held:{uuid.uuid4()}"
            try:
                # Each pool's one connection blocks on a list nobody fills.
                holder = asyncio.create_task(shedding.blpop([held], timeout=1))
                await asyncio.sleep(0.05)
                started = time.monotonic()
                with pytest.raises(PoolExhausted):
                    await shedding.ping()
                assert time.monotonic() - started >= 0.2  # it queued for the whole wait first
                assert await holder is None
                assert await shedding.ping() is True  # free again

                holder = asyncio.create_task(queueing.blpop([held], timeout=0.3))
                await asyncio.sleep(0.05)
                assert await queueing.ping() is True  # waited for the holder's connection
                assert await holder is None
                address = await queueing.connection_pool.get_master_address()  # type: ignore[attr-defined]
                assert address[1] == cluster.primary_port
            finally:
                await close_async_redis(shedding)
                await close_async_redis(queueing)

        asyncio.run(run())


def test_no_sentinel_answering_is_unreachable_redis_soon_not_a_busy_pool() -> None:
    """No Sentinel answers: Redis is unreachable (the gate falls back to SQL), said within about
    a second, not after redis-py's default retries (6-9 s a connect)."""
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"redis+sentinel://127.0.0.1:{closed.getsockname()[1]}/pulse-test/0"

        async def ping_async() -> None:
            client = open_async_redis(url, max_connections=1, pool_timeout_s=5)
            try:
                await client.ping()
            finally:
                await close_async_redis(client)

        def ping_sync() -> None:
            client = open_redis(url)
            try:
                client.ping()
            finally:
                close_redis(client)

        for ping in (lambda: asyncio.run(ping_async()), ping_sync):
            started = time.monotonic()
            with pytest.raises(redis.ConnectionError) as failed:
                ping()
            assert time.monotonic() - started < 2
            assert not isinstance(failed.value, PoolExhausted)
