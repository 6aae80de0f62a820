"""Settings every service shares (prefix `PULSE_`); each service extends them in its settings.py.

An unset engine URL selects that engine's embedded stand-in.
"""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from common_messaging.bus import BusSettings
from migrations.engine import default_sqlite_url


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    data_dir: Path = Path(".pulse")
    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    elasticsearch_url: str | None = None
    elasticsearch_index_prefix: str = "pulse-events"
    redis_url: str | None = None
    log_level: str = "INFO"
    # `json` (one object per line) or `text`; unset: text for `pulse run`, JSON for one service.
    log_format: Literal["json", "text"] | None = None
    # OpenTelemetry traces go to this OTLP/HTTP collector (e.g. http://otel-collector:4318);
    # unset (and no OTEL_EXPORTER_OTLP_ENDPOINT): tracing is off.
    otlp_endpoint: str | None = None
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses or
    # CIDR ranges, `*` for any). Behind a load balancer or ingress, list it here: otherwise every
    # shopper seems to come from the proxy, and the per-IP entry limit throttles them all.
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data directory."""
        return self.database_url or default_sqlite_url(self.data_dir)

    def bus_settings(self) -> BusSettings:
        """Bus settings from the environment, with this service's data dir and brokers."""
        return BusSettings(
            data_dir=self.data_dir, kafka_bootstrap_servers=self.kafka_bootstrap_servers
        )
