"""With Redis unreachable the rate limits fail open (the gate and Postgres still hold capacity),
and say so: a counter for the alert and a log line, not a silent gap."""

import asyncio
import logging

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from entry_service.adapters.rate_limit import RedisRateLimiter


def test_limits_fail_open_with_a_metric_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> list[float | None]:
        # Nothing listens on port 1: every call fails to connect, at once.
        client = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
        limiter = RedisRateLimiter(client)
        try:
            return [await limiter.hit([("ip:1", 1)], 10) for _ in range(3)]
        finally:
            await client.aclose()

    def failed_open() -> float:
        return REGISTRY.get_sample_value("pulse_entry_rate_limit_failed_open_total") or 0.0

    before = failed_open()
    with caplog.at_level(logging.WARNING):
        answers = asyncio.run(run())
    assert answers == [None, None, None]  # let through: no Retry-After
    assert failed_open() - before == 3
    warned = [r for r in caplog.records if "entry_rate_limit_unavailable" in r.getMessage()]
    assert len(warned) == 1  # once per 10 s, not once per request of a spike
