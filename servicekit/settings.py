"""Settings every service shares (prefix `PULSE_`); each service extends them in its settings.py.

The environment is read once, when a settings object is built at start-up; the engine groups
(`bus`, `database`, `index`, `redis`) are views of those fields that the wiring passes down, so
no adapter reads the environment again. An unset engine URL selects that engine's embedded
stand-in.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from common_messaging.bus.factory import BusFields, BusSettings
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


class CommonSettings(BaseSettings, BusFields):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    # data_dir and the Kafka fields: BusFields
    database_url: str | None = None
    elasticsearch_url: str | None = None
    elasticsearch_index_prefix: str = "pulse-events"
    redis_url: str | None = None
    log_level: str = "INFO"
    # Request bodies over this are refused (413) before anything parses or authenticates them.
    max_body_bytes: int = 1024 * 1024
    # `json` (one object per line) or `text`; unset: text for `pulse run`, JSON for one service.
    log_format: Literal["json", "text"] | None = None
    # OpenTelemetry traces go to this OTLP/HTTP collector (e.g. http://otel-collector:4318);
    # unset (and no OTEL_EXPORTER_OTLP_ENDPOINT): tracing is off.
    otlp_endpoint: str | None = None
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses or
    # CIDR ranges, `*` for any). None by default: a header anyone can send must not choose the
    # client's address. Behind a load balancer or ingress, list it here: otherwise every
    # shopper seems to come from the proxy, and the per-IP entry limit throttles them all.
    forwarded_allow_ips: str = ""

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
        return BusSettings(**self.model_dump(include=set(BusFields.model_fields)))

    @cached_property
    def index(self) -> IndexSettings:
        return IndexSettings(self.elasticsearch_url, self.elasticsearch_index_prefix)

    @cached_property
    def redis(self) -> RedisSettings:
        return RedisSettings(self.redis_url)
