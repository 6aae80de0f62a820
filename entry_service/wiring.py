"""entry_service's composition root: every port of the service, built from its settings.

Without Redis (the embedded default): sites from the database, the SQL gate deciding in the
request, rate limits per process. With Redis: Redis-cached sites, the atomic Redis gate with
reservations on the bus for the consumer to confirm, a decision waiter, and rate limits shared
by every process.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
import redis.asyncio as aioredis

from analytics_index.factory import open_analytics_index
from common_messaging import ENTRIES_DECIDED, EventPublisher
from common_messaging.bus import BusSettings, open_consumer, open_publisher
from datastore.engine import make_engine
from entries_ledger.after_decision import CountWins
from entry_service.adapters.decision_waiter import DecisionWaiter
from entry_service.adapters.rate_limit import MemoryRateLimiter, RedisRateLimiter
from entry_service.adapters.redis_entry_gate import (
    AdmissionFactory,
    RedisEntryGate,
    ScriptAdmission,
)
from entry_service.adapters.redis_sites import RedisCachedSiteDirectory
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.adapters.seat_reconciler import SeatReconciler, reconcile_forever
from entry_service.adapters.sql_activities import SqlActivityDirectory
from entry_service.adapters.sql_entry_gate import SqlEntryGate
from entry_service.adapters.sql_rewards import SqlRewardReader
from entry_service.adapters.sql_sites import CachedSqlSiteDirectory
from entry_service.adapters.summary_facts import SummaryFacts
from entry_service.adapters.user_agent import parse_user_agent
from entry_service.domain.entries import EntryGate, EntryPorts, RateLimiter, RateLimits
from entry_service.domain.ingestion import IngestPorts, Limits
from entry_service.domain.sites import SiteDirectory
from entry_service.settings import EntrySettings
from servicekit.database import Database
from servicekit.health import ReadinessCheck
from servicekit.redis_client import (
    close_async_redis,
    close_redis,
    open_async_redis,
    open_redis,
    redis_ping,
)
from user_summaries.ports import NoSummaryCache, SummaryCache
from user_summaries.redis_cache import RedisSummaryCache
from user_summaries.sql_reader import SqlSummaryReader


@dataclass(frozen=True, slots=True)
class EntryServicePorts:
    ingest: IngestPorts
    entries: EntryPorts
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    degradable: dict[str, ReadinessCheck] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def limits_from(settings: EntrySettings) -> Limits:
    return Limits(
        max_event_bytes=settings.max_event_bytes,
        max_batch_bytes=settings.max_batch_bytes,
        max_batch_events=settings.max_batch_events,
        retry_after_s=settings.publish_retry_after_s,
        max_event_age=timedelta(days=settings.max_event_age_days),
        max_event_ahead=timedelta(seconds=settings.max_event_ahead_s),
    )


@asynccontextmanager
async def open_ports(
    settings: EntrySettings,
    admission: AdmissionFactory = ScriptAdmission,
    open_bus: Callable[[BusSettings], EventPublisher] = open_publisher,
) -> AsyncIterator[EntryServicePorts]:
    """Every port, opened; closed on exit. `admission` is the gate's admission step (the
    benchmark's lock-per-request baseline passes its own), `open_bus` the publisher of both
    paths (the benchmark's floors pass one that acknowledges at once)."""
    async with AsyncExitStack() as stack:
        database = Database(make_engine(settings.database.url))
        stack.callback(database.dispose)
        publisher = open_bus(settings.bus)
        stack.callback(publisher.close)
        redis_client: redis.Redis | None = None
        async_redis: aioredis.Redis | None = None
        if settings.redis.url:
            redis_client = open_redis(settings.redis.url)
            stack.callback(close_redis, redis_client)
            # The event loop's own client, for the per-request paths (gate, limits).
            async_redis = open_async_redis(
                settings.redis.url, max_connections=settings.entry_redis_max_connections
            )
            stack.push_async_callback(close_async_redis, async_redis)
        sites = site_directory(settings, database, redis_client)
        ingest = IngestPorts(sites, publisher, parse_user_agent, limits_from(settings))
        entries, waiter = entry_ports(
            settings, database, redis_client, async_redis, publisher, admission
        )
        if waiter is not None:
            waiter.start()
            stack.callback(waiter.stop)
        if redis_client is not None:
            reconciler = SeatReconciler(
                redis_client,
                database,
                RedisCounterWarmer(redis_client, database),
                settings.entry_reconcile_interval_s,
            )
            task = asyncio.create_task(
                reconcile_forever(reconciler, settings.entry_reconcile_interval_s)
            )
            stack.callback(task.cancel)
        yield EntryServicePorts(
            ingest,
            entries,
            readiness=_readiness(database, waiter),
            degradable={"redis": redis_ping(redis_client)} if redis_client is not None else {},
        )


def site_directory(
    settings: EntrySettings, database: Database, redis_client: redis.Redis | None
) -> SiteDirectory:
    """Redis-cached when Redis is configured (database as fallback), else the database; both
    keep an in-process copy for `site_cache_ttl_s`, so the steady state has no round trip."""
    if redis_client is None:
        return CachedSqlSiteDirectory(database, settings.site_cache_ttl_s)
    return RedisCachedSiteDirectory(
        redis_client,
        database,
        ttl_s=settings.site_redis_ttl_s,
        local_ttl_s=settings.site_cache_ttl_s,
    )


def entry_ports(
    settings: EntrySettings,
    database: Database,
    redis_client: redis.Redis | None,
    async_redis: aioredis.Redis | None,
    publisher: EventPublisher,
    admission: AdmissionFactory = ScriptAdmission,
) -> tuple[EntryPorts, DecisionWaiter | None]:
    """The entry path's ports, and the decision waiter (not yet started) when Redis gates."""
    summaries: SummaryCache = (
        RedisSummaryCache(redis_client) if redis_client is not None else NoSummaryCache()
    )
    wins = CountWins(open_analytics_index(settings.index, database), summaries)
    limiter: RateLimiter = MemoryRateLimiter()
    sql_gate = SqlEntryGate(database, wins, _now, limiter)
    gate: EntryGate = sql_gate
    waiter: DecisionWaiter | None = None
    if redis_client is not None and async_redis is not None:
        bus = settings.bus
        waiter = DecisionWaiter(
            lambda group: open_consumer(bus, group, [ENTRIES_DECIDED], start_at_latest=True)
        )
        gate = RedisEntryGate(
            async_redis,
            admission(async_redis, RedisCounterWarmer(redis_client, database)),
            publisher,
            waiter,
            sql_gate,
            confirm_wait_s=settings.entry_confirm_wait_s,
            retry_after_s=settings.publish_retry_after_s,
            lookup_grace_s=settings.entry_lookup_grace_s,
        )
        limiter = RedisRateLimiter(async_redis)
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
        rewards=SqlRewardReader(database),
    )
    return ports, waiter


def _readiness(database: Database, waiter: DecisionWaiter | None) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {"database": database.ping}
    if waiter is not None:

        async def waiter_alive() -> None:
            if not waiter.is_alive():
                raise RuntimeError("entry decision listener stopped")

        checks["entry_decisions"] = waiter_alive
    return checks
