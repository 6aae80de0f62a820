"""Build the entry path's adapters from settings: the embedded gate, or Redis + the bus.

Without Redis: the SQL gate decides in the request, rate limits are per process.
With Redis: the atomic Redis gate, reservations on the bus for core_service to confirm, a
decision waiter, and rate limits shared by every process.
"""

from contextlib import AsyncExitStack
from datetime import UTC, datetime

import redis
import redis.asyncio as aioredis

from common_messaging import ENTRIES_DECIDED, EventPublisher
from common_messaging.bus import open_consumer
from core_service.adapters.analytics_factory import open_analytics_index
from core_service.adapters.redis_summary_cache import RedisSummaryCache
from core_service.adapters.summary_repository import SqlSummaryReader
from core_service.domain.summaries import NoSummaryCache, SummaryCache
from entry_service.adapters.decision_waiter import DecisionWaiter
from entry_service.adapters.rate_limit import MemoryRateLimiter, RedisRateLimiter
from entry_service.adapters.redis_entry_gate import RedisEntryGate
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.adapters.sql_activities import SqlActivityDirectory
from entry_service.adapters.sql_entry_gate import SqlEntryGate
from entry_service.adapters.summary_facts import SummaryFacts
from entry_service.domain.entries import EntryGate, EntryPorts, RateLimiter, RateLimits
from entry_service.settings import EntrySettings
from servicekit.database import Database


def _now() -> datetime:
    return datetime.now(UTC)


async def entry_ports(
    settings: EntrySettings,
    database: Database,
    redis_client: redis.Redis | None,
    async_redis: aioredis.Redis | None,
    publisher: EventPublisher,
    stack: AsyncExitStack,
) -> tuple[EntryPorts, DecisionWaiter | None]:
    summaries: SummaryCache = (
        RedisSummaryCache(redis_client) if redis_client is not None else NoSummaryCache()
    )
    sql_gate = SqlEntryGate(database, open_analytics_index(settings, database), summaries, _now)
    gate: EntryGate = sql_gate
    limiter: RateLimiter = MemoryRateLimiter()
    waiter: DecisionWaiter | None = None
    if redis_client is not None and async_redis is not None:  # set together by lifespan
        client = async_redis
        bus = settings.bus_settings()
        waiter = DecisionWaiter(
            lambda group: open_consumer(bus, group, [ENTRIES_DECIDED], start_at_latest=True)
        )
        waiter.start()
        stack.callback(waiter.stop)
        gate = RedisEntryGate(
            client,
            RedisCounterWarmer(redis_client, database),
            publisher,
            waiter,
            sql_gate,
            confirm_wait_s=settings.entry_confirm_wait_s,
            retry_after_s=settings.publish_retry_after_s,
        )
        limiter = RedisRateLimiter(client)
    ports = EntryPorts(
        activities=SqlActivityDirectory(database, settings.activity_cache_ttl_s),
        facts=SummaryFacts(SqlSummaryReader(database), summaries),
        limiter=limiter,
        gate=gate,
        limits=RateLimits(
            per_user=settings.entry_rate_limit_per_user,
            per_ip=settings.entry_rate_limit_per_ip,
            window_s=settings.entry_rate_limit_window_s,
        ),
    )
    return ports, waiter
