"""Settings every service shares (prefix `PULSE_`); each service extends them in its settings.py."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from migrations.engine import default_sqlite_url


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    data_dir: Path = Path(".pulse")
    database_url: str | None = None
    log_level: str = "INFO"

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data directory."""
        return self.database_url or default_sqlite_url(self.data_dir)
