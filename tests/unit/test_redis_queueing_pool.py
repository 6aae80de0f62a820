"""`QueueingConnectionPool` charges only the wait for a free connection to its deadline: a Redis
that is slow to answer a new connection is a failure to reach Redis (the entry gate falls back
to SQL), never `PoolExhausted` (the gate sheds with a 503)."""

import asyncio
import socket

import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from servicekit.redis_client import PoolExhausted, QueueingConnectionPool


def test_a_slow_connect_after_a_short_wait_is_not_a_busy_pool() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)

        async def run() -> None:
            pool = QueueingConnectionPool(
                host="127.0.0.1",
                port=silent.getsockname()[1],
                max_connections=1,
                timeout=0.05,  # far shorter than the handshake's socket timeout below
                socket_timeout=0.3,
                socket_connect_timeout=0.3,
                retry=Retry(NoBackoff(), 0),
            )
            client = aioredis.Redis.from_pool(pool)
            try:
                await client.ping()
            finally:
                await client.aclose()

        with pytest.raises(redis.RedisError) as failed:
            asyncio.run(run())
    # The handshake's own timeout, after the pool's deadline was lifted.
    assert isinstance(failed.value, redis.TimeoutError)
    assert not isinstance(failed.value, PoolExhausted)
