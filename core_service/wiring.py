"""core_service's composition root: its ports and its consumers, built from its settings.

`open_ports` gives what the admin API's requests use; `open_consumers` builds both consumer
loops. The embedded default and the full stack differ only in what is chosen here.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from analytics_index.factory import open_analytics_index
from common_messaging import ENTRIES_REQUESTED, EVENTS_RAW
from common_messaging.bus import open_consumer, open_publisher
from core_service.consumer.loop import OccurrenceConsumer, ReservationConsumer
from core_service.consumer.runner import ConsumerThreads
from core_service.consumer.writers import BatchWriter, EntryBatchDecider
from core_service.domain.occurrences import EventOccurrenceService
from core_service.errors import ConfigurationError
from core_service.metrics import lag_reporter
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from entries_ledger.gate_seats import RedisSeatReturn
from entries_ledger.holds import HoldSweeper
from servicekit.clock import utc_now
from servicekit.database import Database
from servicekit.health import ReadinessCheck
from servicekit.redis_client import close_redis, open_redis, redis_ping
from servicekit.secrets import ADMIN_TOKEN, resolve_token
from user_summaries.ports import NoSummaryCache, SummaryCache, SummaryReader
from user_summaries.redis_cache import RedisSummaryCache
from user_summaries.sql_reader import SqlSummaryReader


@dataclass(frozen=True, slots=True)
class CorePorts:
    database: Database
    summary_reader: SummaryReader
    summary_cache: SummaryCache
    redis: redis.Redis | None
    admin_token: str

    def degradable(self) -> dict[str, ReadinessCheck]:
        """Engines with a fallback (the Redis cache): reported, never making the service unready."""
        return {"redis": redis_ping(self.redis)} if self.redis is not None else {}


def admin_token(settings: CoreSettings) -> str:
    token = resolve_token(settings.admin_token, settings.data_dir, ADMIN_TOKEN, embedded=False)
    if token is None:
        raise ConfigurationError("PULSE_ADMIN_TOKEN must be set to start core_service")
    return token


@contextmanager
def open_ports(settings: CoreSettings) -> Iterator[CorePorts]:
    """The admin API's ports; it refuses to start without an admin token."""
    with _open(settings, admin_token(settings)) as ports:
        yield ports


@contextmanager
def open_worker_ports(settings: CoreSettings) -> Iterator[CorePorts]:
    """The consumers' ports (`pulse worker`): the same engines, and no admin API to guard."""
    with _open(settings, "") as ports:
        yield ports


@contextmanager
def _open(settings: CoreSettings, token: str) -> Iterator[CorePorts]:
    database = Database(make_engine(settings.database.url))
    redis_client = open_redis(settings.redis.url) if settings.redis.url else None
    cache: SummaryCache = (
        RedisSummaryCache(redis_client) if redis_client is not None else NoSummaryCache()
    )
    try:
        yield CorePorts(database, SqlSummaryReader(database), cache, redis_client, token)
    finally:
        if redis_client is not None:
            close_redis(redis_client)
        database.dispose()


def open_consumers(
    settings: CoreSettings,
    database: Database,
    summaries: SummaryCache,
    *,
    report_lag: bool = False,
    redis_client: redis.Redis | None = None,
) -> ConsumerThreads:
    """Both loops on one publisher (dead letters, decisions), not yet started. `report_lag`:
    also read the groups' lag from the broker for /metrics (the `pulse worker` process does; an
    admin API running the loops on the side does not need a Kafka admin client of its own)."""
    bus = settings.bus
    index = open_analytics_index(settings.index, database)
    # Elasticsearch is written on its own thread while Postgres is; an index in the same
    # database (the embedded SQL one) would only contend for its write lock.
    writer = BatchWriter(
        database,
        index,
        EventOccurrenceService(),
        summaries,
        concurrent_index=settings.index.elasticsearch_url is not None,
        index_engine="elasticsearch" if settings.index.elasticsearch_url else None,
    )
    publisher = open_publisher(bus)
    occurrences = OccurrenceConsumer(
        open_consumer(bus, settings.consumer_group, [EVENTS_RAW]),
        publisher,
        writer,
        writer.healthy,
        batch_size=settings.consumer_batch_size,
        poll_timeout_s=settings.consumer_poll_timeout_s,
    )
    decider = EntryBatchDecider(database, index, publisher, summaries)
    reservations = ReservationConsumer(
        open_consumer(bus, settings.entries_consumer_group, [ENTRIES_REQUESTED]),
        publisher,
        decider,
        decider.healthy,
        batch_size=settings.entries_batch_size,
        poll_timeout_s=settings.entries_poll_timeout_s,
    )
    lag = (
        lag_reporter(
            bus,
            {
                settings.consumer_group: [EVENTS_RAW],
                settings.entries_consumer_group: [ENTRIES_REQUESTED],
            },
        )
        if report_lag
        else None
    )
    sweeper = HoldSweeper(
        database,
        RedisSeatReturn(redis_client) if redis_client is not None else None,
        utc_now,
        interval_s=settings.hold_sweep_interval_s,
    )
    return ConsumerThreads(
        occurrences, reservations, publisher, lag, [("pulse-core-holds", sweeper.run)]
    )
