"""The shared rate limiter: fixed windows counted in Redis, and failing open when Redis is down
(the gate and Postgres still enforce capacity and limits; only flood protection pauses)."""

import asyncio
import logging
import socket
import time
import uuid

import pytest
import redis

from entry_service.adapters.rate_limit import RedisRateLimiter
from servicekit.redis_client import open_async_redis
from tests.engines import engine_url

WINDOW_S = 3600


def _hits(url: str, prefix: str, limits: list[tuple[str, int]], n: int) -> list[float | None]:
    async def run() -> list[float | None]:
        client = open_async_redis(url)
        try:
            limiter = RedisRateLimiter(client, prefix=prefix)
            return [await limiter.hit(limits, WINDOW_S) for _ in range(n)]
        finally:
            await client.aclose()

    return asyncio.run(run())


@pytest.mark.integration
def test_each_key_is_limited_in_its_window_on_redis() -> None:
    if WINDOW_S - time.time() % WINDOW_S < 10:  # do not straddle a window's end
        time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.1)
    url, prefix = engine_url("redis"), f"pulse-test-rl-{uuid.uuid4().hex[:8]}"
    answers = _hits(url, prefix, [("user:ada", 2), ("ip:10.0.0.1", 100)], 4)
    assert answers[:2] == [None, None]
    assert all(a is not None and 0 < a <= WINDOW_S for a in answers[2:])
    # Another user from the same address is still under both limits.
    assert _hits(url, prefix, [("user:bob", 2), ("ip:10.0.0.1", 100)], 1) == [None]
    client = redis.Redis.from_url(url)
    try:
        names = [k.decode() for k in client.scan_iter(f"{prefix}:*")]
        assert sorted(n.rsplit(":", 1)[0] for n in names) == [
            f"{prefix}:ip:10.0.0.1",
            f"{prefix}:user:ada",
            f"{prefix}:user:bob",
        ]
        assert all(0 < client.ttl(n) <= WINDOW_S + 1 for n in names)
        client.delete(*names)
    finally:
        client.close()


def test_redis_down_fails_open_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as held:  # bound, never listening: connections are refused
        held.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{held.getsockname()[1]}/0"
        with caplog.at_level(logging.WARNING, "entry_service.adapters.rate_limit"):
            answers = _hits(url, "pulse:rl", [("user:ada", 1)], 3)
    assert answers == [None, None, None]  # three hits over a limit of 1: all let through
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith("entry_rate_limit_unavailable")
