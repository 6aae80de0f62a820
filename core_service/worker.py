"""Wiring of the occurrence consumer: adapters chosen by settings, run on its own thread."""

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from common_messaging import EVENTS_RAW, EventOccurred
from common_messaging.bus import open_consumer, open_publisher
from core_service.adapters.analytics_factory import open_analytics_index
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.adapters.redis_summary_cache import SummaryInvalidator
from core_service.domain.consumer import OccurrenceConsumer
from core_service.domain.indexing import AnalyticsIndex
from core_service.domain.occurrences import EventOccurrenceService
from core_service.domain.summaries import NoSummaryCache, SummaryCache
from core_service.settings import CoreSettings
from servicekit.database import Database


@dataclass
class BatchWriter:
    """Postgres first (the source of truth), then the index; both idempotent by event id."""

    database: Database
    index: AnalyticsIndex
    service: EventOccurrenceService
    summaries: SummaryCache = field(default_factory=NoSummaryCache)

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        with self.database.unit_of_work() as session:
            self.service.store(events, SqlOccurrenceRepository(session))
        # After the commit, so a concurrent cache fill cannot re-cache the old summary.
        SummaryInvalidator(self.summaries)(events)
        self.index.index(events)

    def healthy(self) -> bool:
        try:
            with self.database.reader() as session:
                session.connection()
            self.index.ping()
        except Exception:  # any failure means "not healthy"; the caller backs off
            return False
        return True


class ConsumerThread:
    def __init__(
        self, settings: CoreSettings, database: Database, summaries: SummaryCache | None = None
    ) -> None:
        bus = settings.bus_settings()
        index = open_analytics_index(settings, database)
        writer = BatchWriter(
            database, index, EventOccurrenceService(), summaries or NoSummaryCache()
        )
        self._dead_letters = open_publisher(bus)
        self._consumer = OccurrenceConsumer(
            open_consumer(bus, settings.consumer_group, [EVENTS_RAW]),
            self._dead_letters,
            writer,
            writer.healthy,
            batch_size=settings.consumer_batch_size,
            poll_timeout_s=settings.consumer_poll_timeout_s,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._consumer.run, args=(self._stop,), name="pulse-core-consumer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self._dead_letters.close()
