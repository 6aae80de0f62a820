"""Choose the bus adapter from settings: the embedded log unless Kafka is configured."""

from collections.abc import Sequence
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from common_messaging.bus.ports import EventConsumer, EventPublisher
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    data_dir: Path = Path(".pulse")
    kafka_bootstrap_servers: str | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "bus.sqlite3"


def _require_embedded(settings: BusSettings) -> None:
    if settings.kafka_bootstrap_servers:
        raise NotImplementedError(
            "PULSE_KAFKA_BOOTSTRAP_SERVERS is set, but the Kafka adapter is not built yet; "
            "unset it to use the embedded log"
        )


def open_publisher(settings: BusSettings) -> EventPublisher:
    _require_embedded(settings)
    return SqliteLogPublisher(settings.log_path)


def open_consumer(settings: BusSettings, group_id: str, topics: Sequence[str]) -> EventConsumer:
    _require_embedded(settings)
    return SqliteLogConsumer(settings.log_path, group_id, topics)
