"""The Redis client of every service: caches with a database fallback fail fast, never hang."""

import asyncio
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.retry import Retry


def open_redis(url: str) -> redis.Redis:
    """Fail fast and retry once. `socket_timeout` stays above 1 s: cache fills wait on their
    lock in 1 s BLPOPs."""
    return redis.Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=0.5,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), retries=1),
        driver_info=DriverInfo(),
    )


def open_async_redis(
    url: str, *, max_connections: int = 128, pool_timeout_s: float = 5.0
) -> aioredis.Redis:
    """The event loop's client, for the hot paths (entry gate, rate limits).

    A blocking pool: in a spike, requests queue for a connection (up to `pool_timeout_s`)
    instead of failing with "too many connections", which would read as "Redis is down".
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout_s,
        socket_timeout=2.0,
        socket_connect_timeout=0.5,
        health_check_interval=30,
        retry=AsyncRetry(ExponentialBackoff(cap=0.1, base=0.02), retries=1),
        # One shared instance: by default every new connection looks the package version up
        # again (about 9 ms of CPU each), which a spike's pool growth pays on the event loop.
        driver_info=DriverInfo(),
    )
    return aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes its connections


def redis_ping(client: redis.Redis) -> Callable[[], Awaitable[None]]:
    async def ping() -> None:
        await asyncio.to_thread(client.ping)

    return ping
