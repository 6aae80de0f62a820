"""The Redis client of every service: caches with a database fallback fail fast, never hang."""

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool
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


# The wait deadline of the checkout under way in this task (each task has its own context).
_checkout_wait: ContextVar[asyncio.Timeout | None] = ContextVar("checkout_wait", default=None)


class QueueingConnectionPool(aioredis.BlockingConnectionPool):
    """redis-py's blocking pool: a checkout waits up to `timeout` seconds for a free connection,
    then raises `PoolExhausted`.

    The wait is bounded here, not by redis-py: the library's own wait is made endless (its
    documented `timeout=None`) and runs under this pool's `asyncio.timeout`. redis-py reports
    its own wait running out as a plain `ConnectionError` told apart only by its `__cause__`
    (an internal detail); a deadline of our own is known to be ours (`expired()`), whatever the
    library's wording or exception chain. Once a connection is free the deadline is lifted
    (`ensure_connection`, the pool's step that connects it): connecting has its own timeouts,
    and Redis or the Sentinels failing to answer is unreachable, never busy.
    """

    def __init__(self, *, timeout: float | None = 5.0, **kwargs: Any) -> None:
        super().__init__(timeout=None, **kwargs)
        self.queue_timeout_s = timeout

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        deadline = asyncio.timeout(self.queue_timeout_s)
        token = _checkout_wait.set(deadline)
        try:
            async with deadline:
                return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except TimeoutError as exc:
            if deadline.expired():
                raise PoolExhausted(
                    f"no Redis connection free within {self.queue_timeout_s} s"
                ) from exc
            raise
        finally:
            _checkout_wait.reset(token)

    async def ensure_connection(self, connection: Any) -> None:
        deadline = _checkout_wait.get()
        # The wait is over: connecting is not queueing. (A deadline already expiring cancels
        # this checkout at its next await, and cannot be changed any more.)
        if deadline is not None and not deadline.expired():
            deadline.reschedule(None)
        await super().ensure_connection(connection)


class QueueingSentinelConnectionPool(SentinelConnectionPool, QueueingConnectionPool):
    """The Sentinel's primary pool (asks the Sentinels where the primary is, again after a
    failover) that queues like `QueueingConnectionPool`. redis-py ships no blocking Sentinel
    pool; `SentinelConnectionPool.__init__` passes the rest of its arguments up the MRO, so
    `QueueingConnectionPool` takes `timeout` and `max_connections` as on the direct path."""


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
# The Sentinels are asked one after the other: a Sentinel that does not answer is passed over
# quickly. redis-py's default retry (3 times, backing off from 1 s) kept a connect waiting about
# 6-9 s when no Sentinel answered, before Redis counted as unreachable.
_SENTINEL_RETRY = (ExponentialBackoff(cap=0.1, base=0.02), 1)


def _sentinel_kwargs(retry: Retry | AsyncRetry) -> dict[str, Any]:
    return {"socket_timeout": 0.5, "retry": retry}


def open_redis(url: str) -> redis.Redis:
    retry = Retry(ExponentialBackoff(cap=0.1, base=0.02), retries=1)
    sentinel = SentinelTarget.parse(url)
    if sentinel is not None:
        watchers = Sentinel(  # type: ignore[no-untyped-call]
            sentinel.nodes, sentinel_kwargs=_sentinel_kwargs(Retry(*_SENTINEL_RETRY))
        )
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

    A blocking pool, with a direct URL and through Sentinel alike: in a spike, requests queue
    for a connection (up to `pool_timeout_s`) instead of failing with "too many connections",
    which would read as "Redis is down"; a wait that runs out raises `PoolExhausted`.
    """
    retry = AsyncRetry(ExponentialBackoff(cap=0.1, base=0.02), retries=1)
    # One shared instance: by default every new connection looks the package version up
    # again (about 9 ms of CPU each), which a spike's pool growth pays on the event loop.
    driver_info = DriverInfo()
    sentinel = SentinelTarget.parse(url)
    if sentinel is not None:
        # redis-py ships the asyncio Sentinel without type hints.
        watchers = AsyncSentinel(  # type: ignore[no-untyped-call]
            sentinel.nodes, sentinel_kwargs=_sentinel_kwargs(AsyncRetry(*_SENTINEL_RETRY))
        )
        primary: aioredis.Redis = watchers.master_for(
            sentinel.master,
            connection_pool_class=QueueingSentinelConnectionPool,
            db=sentinel.db,
            max_connections=max_connections,
            timeout=pool_timeout_s,
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
