"""Choose the bus adapter by settings: Kafka when brokers are configured, else the embedded log."""

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from common_messaging.bus.ports import EventConsumer, EventPublisher
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from common_messaging.topics import (
    ENTRIES_DECIDED,
    ENTRIES_DLQ,
    ENTRIES_REQUESTED,
    EVENTS_DLQ,
    EVENTS_ENRICHED,
    EVENTS_ENRICHED_DLQ,
    EVENTS_RAW,
)

DAY_MS = 24 * 3600 * 1000


class BusFields(BaseModel):
    """The bus's settings as fields, declared once: `CommonSettings` reads them from the
    environment (it derives from this class) and hands them down as a `BusSettings`."""

    data_dir: Path = Path(".pulse")
    kafka_bootstrap_servers: str | None = None
    kafka_client_id: str = "pulse"
    # Prepended to every topic name on Kafka, to keep environments apart on one cluster.
    kafka_topic_prefix: str = ""
    kafka_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_delivery_timeout_ms: int = 15_000
    events_retention_days: int = 7
    dead_letter_retention_days: int = 30


class BusSettings(BusFields):
    """The bus's part of a service's settings (`CommonSettings.bus`); reads no environment."""

    model_config = ConfigDict(frozen=True)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "bus.sqlite3"

    def topic_retention_ms(self) -> dict[str, int]:
        return {
            EVENTS_RAW: self.events_retention_days * DAY_MS,
            EVENTS_DLQ: self.dead_letter_retention_days * DAY_MS,
            ENTRIES_REQUESTED: self.events_retention_days * DAY_MS,
            ENTRIES_DLQ: self.dead_letter_retention_days * DAY_MS,
            ENTRIES_DECIDED: self.events_retention_days * DAY_MS,
            EVENTS_ENRICHED: self.events_retention_days * DAY_MS,
            EVENTS_ENRICHED_DLQ: self.dead_letter_retention_days * DAY_MS,
        }


def open_publisher(settings: BusSettings) -> EventPublisher:
    if settings.kafka_bootstrap_servers:
        from common_messaging.bus.kafka import KafkaPublisher

        return KafkaPublisher(
            settings.kafka_bootstrap_servers,
            settings.kafka_client_id,
            settings.kafka_delivery_timeout_ms,
            settings.kafka_topic_prefix,
        )
    return SqliteLogPublisher(settings.log_path)


def open_consumer(
    settings: BusSettings, group_id: str, topics: Sequence[str], *, start_at_latest: bool = False
) -> EventConsumer:
    """A consumer in `group_id`; a group with no commits starts at the oldest message unless
    `start_at_latest` (listeners that only care about what happens from now on)."""
    if settings.kafka_bootstrap_servers:
        from common_messaging.bus.kafka import KafkaEventConsumer

        return KafkaEventConsumer(
            settings.kafka_bootstrap_servers,
            group_id,
            topics,
            settings.kafka_topic_prefix,
            start_at_latest=start_at_latest,
        )
    return SqliteLogConsumer(settings.log_path, group_id, topics, start_at_latest=start_at_latest)


def prepare_bus(settings: BusSettings) -> list[str]:
    """Create the topics on Kafka (the embedded log needs nothing); returns what was created."""
    if not settings.kafka_bootstrap_servers:
        return []
    from common_messaging.bus.kafka_admin import ensure_topics

    return ensure_topics(
        settings.kafka_bootstrap_servers,
        {settings.kafka_topic_prefix + t: ms for t, ms in settings.topic_retention_ms().items()},
        partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
    )
