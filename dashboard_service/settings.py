"""dashboard_service settings (env prefix `PULSE_`), read when first asked for, never at import."""

from functools import lru_cache

from pydantic import SecretStr

from servicekit.settings import CommonSettings


class DashboardSettings(CommonSettings):
    dashboard_token: SecretStr | None = None
    admin_token: SecretStr | None = None


@lru_cache
def get_settings() -> DashboardSettings:
    return DashboardSettings()
