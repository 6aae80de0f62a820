"""Settings every service shares (prefix `PULSE_`); each service extends them in its settings.py.

The environment is read once, when a settings object is built at start-up; the engine groups
(`bus`, `database`, `index`, `redis`) are views of those fields that the wiring passes down, so
no adapter reads the environment again. An unset engine URL selects that engine's embedded
stand-in.
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from common_messaging.bus import BusSettings
from datastore.engine import default_sqlite_url


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str  # Postgres, or the embedded SQLite file
    embedded: bool


@dataclass(frozen=True, slots=True)
class IndexSettings:
    elasticsearch_url: str | None  # None: the SQL analytics table of the embedded default
    prefix: str


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str | None  # None: no Redis (the database and in-process stand-ins)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    data_dir: Path = Path(".pulse")
    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    kafka_client_id: str = "pulse"
    # Prepended to every topic name on Kafka, to keep environments apart on one cluster.
    kafka_topic_prefix: str = ""
    kafka_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_delivery_timeout_ms: int = 15_000
    events_retention_days: int = 7
    dead_letter_retention_days: int = 30
    elasticsearch_url: str | None = None
    elasticsearch_index_prefix: str = "pulse-events"
    redis_url: str | None = None
    log_level: str = "INFO"
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses or
    # CIDR ranges, `*` for any). Behind a load balancer or ingress, list it here: otherwise every
    # shopper seems to come from the proxy, and the per-IP entry limit throttles them all.
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data directory."""
        return self.database.url

    @cached_property
    def database(self) -> DatabaseSettings:
        return DatabaseSettings(
            url=self.database_url or default_sqlite_url(self.data_dir),
            embedded=self.database_url is None,
        )

    @cached_property
    def bus(self) -> BusSettings:
        return BusSettings(
            data_dir=self.data_dir,
            kafka_bootstrap_servers=self.kafka_bootstrap_servers,
            kafka_client_id=self.kafka_client_id,
            kafka_topic_prefix=self.kafka_topic_prefix,
            kafka_partitions=self.kafka_partitions,
            kafka_replication_factor=self.kafka_replication_factor,
            kafka_delivery_timeout_ms=self.kafka_delivery_timeout_ms,
            events_retention_days=self.events_retention_days,
            dead_letter_retention_days=self.dead_letter_retention_days,
        )

    @cached_property
    def index(self) -> IndexSettings:
        return IndexSettings(self.elasticsearch_url, self.elasticsearch_index_prefix)

    @cached_property
    def redis(self) -> RedisSettings:
        return RedisSettings(self.redis_url)
