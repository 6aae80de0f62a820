"""core_service's composition root: its ports and its consumers, built from its settings.

`open_ports` gives what the admin API's requests use; `open_consumers` builds both consumer
loops. The embedded default and the full stack differ only in what is chosen here.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import redis

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.factory import elasticsearch_client, open_analytics_index
from analytics_index.feed import IndexFeed
from analytics_index.ports import AnalyticsIndex
from analytics_index.user_agent import parse_user_agent
from common_messaging import ENTRIES_REQUESTED, EVENTS_ENRICHED, EVENTS_RAW, EventPublisher
from common_messaging.bus import open_consumer, open_publisher
from core_service.consumer.loop import IndexConsumer, OccurrenceConsumer, ReservationConsumer
from core_service.consumer.runner import ConsumerThreads
from core_service.consumer.writers import BatchWriter, EntryBatchDecider, IndexWriter
from core_service.domain.enrichment import Enricher
from core_service.domain.occurrences import EventOccurrenceService
from core_service.errors import ConfigurationError
from core_service.metrics import lag_reporter
from core_service.settings import CoreSettings
from datastore.engine import make_engine
from entries_ledger.gate_seats import RedisSeatReturn
from entries_ledger.holds import HoldSweeper
from rollups.entries import CountingEntriesIndex
from rollups.writer import record_occurrences
from servicekit.clock import utc_now
from servicekit.database import Database
from servicekit.health import ReadinessCheck
from servicekit.redis_client import close_redis, open_redis, redis_ping
from servicekit.secrets import ADMIN_TOKEN, resolve_token
from shop_webhooks.dispatcher import Dispatcher, DispatcherThread
from shop_webhooks.endpoints import TargetPolicy
from shop_webhooks.sender import HttpSender
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
    webhook_targets: TargetPolicy = TargetPolicy()

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
        yield CorePorts(
            database,
            SqlSummaryReader(database),
            cache,
            redis_client,
            token,
            TargetPolicy(allow_private=settings.webhooks_allow_private_targets),
        )
    finally:
        if redis_client is not None:
            close_redis(redis_client)
        database.dispose()


def occurrence_service(settings: CoreSettings) -> EventOccurrenceService:
    """The store path's service, enriching collected events as it stores them."""
    window = timedelta(minutes=settings.new_user_window_minutes)
    return EventOccurrenceService(enricher=Enricher(parse_user_agent, window))


def open_consumers(
    settings: CoreSettings,
    database: Database,
    summaries: SummaryCache,
    *,
    report_lag: bool = False,
    redis_client: redis.Redis | None = None,
) -> ConsumerThreads:
    """Every loop on one publisher (dead letters, decisions, the index feed), not yet started.
    `report_lag`: also read the groups' lag from the broker for /metrics (the `pulse worker`
    process does; an admin API running the loops on the side does not need a Kafka admin client
    of its own).

    With Elasticsearch, the store group and the entry decisions hand what is to be indexed to
    the index feed (`pulse.events.enriched.v1`) and the index group writes it; on the embedded
    default both write the SQL index directly, in the same database."""
    bus = settings.bus
    publisher = open_publisher(bus)
    index: AnalyticsIndex
    indexing: IndexConsumer | None = None
    groups = {
        settings.consumer_group: [EVENTS_RAW],
        settings.entries_consumer_group: [ENTRIES_REQUESTED],
    }
    if settings.index.elasticsearch_url:
        index = IndexFeed(publisher, settings.index.prefix)
        indexing = _index_consumer(settings, publisher)
        groups[settings.index_consumer_group] = [EVENTS_ENRICHED]
    else:
        index = open_analytics_index(settings.index, database)
    writer = BatchWriter(
        database,
        index,
        occurrence_service(settings),
        summaries,
        index_engine="kafka" if settings.index.elasticsearch_url else None,
        # The full stack's dashboard reads rollups; the embedded one counts its SQL table.
        rollups=record_occurrences if settings.index.elasticsearch_url else None,
    )
    occurrences = OccurrenceConsumer(
        open_consumer(bus, settings.consumer_group, [EVENTS_RAW]),
        publisher,
        writer,
        writer.healthy,
        batch_size=settings.consumer_batch_size,
        poll_timeout_s=settings.consumer_poll_timeout_s,
    )
    entries_index = (
        CountingEntriesIndex(index, database) if settings.index.elasticsearch_url else index
    )
    decider = EntryBatchDecider(database, entries_index, publisher, summaries)
    reservations = ReservationConsumer(
        open_consumer(bus, settings.entries_consumer_group, [ENTRIES_REQUESTED]),
        publisher,
        decider,
        decider.healthy,
        batch_size=settings.entries_batch_size,
        poll_timeout_s=settings.entries_poll_timeout_s,
    )
    lag = lag_reporter(bus, groups) if report_lag else None
    sweeper = HoldSweeper(
        database,
        RedisSeatReturn(redis_client) if redis_client is not None else None,
        utc_now,
        interval_s=settings.hold_sweep_interval_s,
    )
    return ConsumerThreads(
        occurrences, reservations, publisher, lag, indexing, [("pulse-core-holds", sweeper.run)]
    )


def _index_consumer(settings: CoreSettings, publisher: EventPublisher) -> IndexConsumer:
    assert settings.index.elasticsearch_url is not None
    es = ElasticsearchAnalyticsIndex(
        elasticsearch_client(settings.index.elasticsearch_url), settings.index.prefix
    )
    writer = IndexWriter(es)
    return IndexConsumer(
        open_consumer(settings.bus, settings.index_consumer_group, [EVENTS_ENRICHED]),
        publisher,
        writer,
        writer.healthy,
        batch_size=settings.index_batch_size,
        poll_timeout_s=settings.index_poll_timeout_s,
    )


def open_webhook_dispatcher(settings: CoreSettings, database: Database) -> DispatcherThread:
    """The shop webhooks' dispatcher loop, not yet started (runs beside the consumers)."""
    sender = HttpSender(
        timeout_s=settings.webhooks_timeout_s,
        allow_private=settings.webhooks_allow_private_targets,
    )
    dispatcher = Dispatcher(database, sender, clock=utc_now)
    return DispatcherThread(dispatcher, settings.webhooks_interval_s, sender.close)
