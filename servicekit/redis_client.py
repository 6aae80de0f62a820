"""The Redis client of every service: caches with a database fallback fail fast, never hang."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.retry import Retry
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel://"


class PoolExhausted(redis.ConnectionError):
    """Every connection of the pool stayed busy for the pool's whole wait: this process is
    overloaded, Redis itself may be fine. A `ConnectionError`, as redis-py raises it, so callers
    that only know Redis failures keep treating it as one; a caller for whom "busy" and
    "unreachable" call for different answers (the entry gate) tells them apart by this class."""


class QueueingConnectionPool(aioredis.BlockingConnectionPool):
    """redis-py's blocking pool, raising `PoolExhausted` when its wait runs out."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except redis.ConnectionError as exc:
            # The pool's own wait (redis-py raises it `from` the wait's TimeoutError); a failed
            # connect of a new connection is also a ConnectionError, but from an OSError.
            if isinstance(exc.__cause__, TimeoutError) and not isinstance(exc, PoolExhausted):
                raise PoolExhausted(f"no Redis connection free within {self.timeout} s") from exc
            raise


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """`redis+sentinel://host:26379,host2:26379/<master name>/<db>`: ask the Sentinels which
    node is the primary (and ask again after a failover) instead of naming one."""

    nodes: list[tuple[str, int]]
    master: str
    db: int

    @classmethod
    def parse(cls, url: str) -> "SentinelTarget | None":
        if not url.startswith(SENTINEL_SCHEME):
            return None
        hosts, _, path = url.removeprefix(SENTINEL_SCHEME).partition("/")
        master, _, db = path.partition("/")
        nodes = []
        for host in filter(None, hosts.split(",")):
            name, _, port = host.rpartition(":") if ":" in host else (host, "", "26379")
            nodes.append((name, int(port)))
        if not nodes:
            raise ValueError(f"{SENTINEL_SCHEME} needs at least one sentinel host:port")
        return cls(nodes, master or "mymaster", int(db or 0))


# Fail fast and retry once. The socket timeout stays above 1 s: cache fills wait on their lock
# in 1 s BLPOPs.
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 0.5
HEALTH_CHECK_S = 30


def open_redis(url: str) -> redis.Redis:
    retry = Retry(ExponentialBackoff(cap=0.1, base=0.02), retries=1)
    sentinel = SentinelTarget.parse(url)
    if sentinel is not None:
        watchers = Sentinel(sentinel.nodes, sentinel_kwargs={"socket_timeout": 0.5})  # type: ignore[no-untyped-call]
        client: redis.Redis = watchers.master_for(  # type: ignore[no-untyped-call]
            sentinel.master,
            db=sentinel.db,
            retry=retry,
            driver_info=DriverInfo(),
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=HEALTH_CHECK_S,
        )
        return client
    return redis.Redis.from_url(
        url,
        retry=retry,
        driver_info=DriverInfo(),
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_S,
    )


def open_async_redis(
    url: str, *, max_connections: int = 128, pool_timeout_s: float = 5.0
) -> aioredis.Redis:
    """The event loop's client, for the hot paths (entry gate, rate limits).

    A blocking pool: in a spike, requests queue for a connection (up to `pool_timeout_s`)
    instead of failing with "too many connections", which would read as "Redis is down"; a
    wait that runs out raises `PoolExhausted`.
    """
    retry = AsyncRetry(ExponentialBackoff(cap=0.1, base=0.02), retries=1)
    # One shared instance: by default every new connection looks the package version up
    # again (about 9 ms of CPU each), which a spike's pool growth pays on the event loop.
    driver_info = DriverInfo()
    sentinel = SentinelTarget.parse(url)
    if sentinel is not None:
        # redis-py ships the asyncio Sentinel without type hints.
        watchers = AsyncSentinel(  # type: ignore[no-untyped-call]
            sentinel.nodes, sentinel_kwargs={"socket_timeout": 0.5}
        )
        primary: aioredis.Redis = watchers.master_for(
            sentinel.master,
            db=sentinel.db,
            max_connections=max_connections,
            retry=retry,
            driver_info=driver_info,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=HEALTH_CHECK_S,
        )
        return primary
    pool = QueueingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout_s,
        retry=retry,
        driver_info=driver_info,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_S,
    )
    return aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes its connections


def redis_ping(client: redis.Redis) -> Callable[[], Awaitable[None]]:
    async def ping() -> None:
        await asyncio.to_thread(client.ping)

    return ping


def close_redis(client: redis.Redis) -> None:
    """Close the client, and the Sentinels' own connections when it found its primary there."""
    client.close()
    for watcher in _sentinels(client):
        watcher.close()


async def close_async_redis(client: aioredis.Redis) -> None:
    await client.aclose()
    for watcher in _sentinels(client):
        await watcher.aclose()


def _sentinels(client: Any) -> list[Any]:
    # redis-py's SentinelConnectionPool keeps the Sentinel (and its clients) it asks.
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    return list(manager.sentinels) if manager is not None else []
