"""dashboard_service settings (env prefix `PULSE_`), read when first asked for, never at import."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr

from servicekit.settings import CommonSettings


class DashboardSettings(CommonSettings):
    dashboard_token: SecretStr | None = None
    admin_token: SecretStr | None = None
    # Live updates (server-sent events): open streams per process, check interval, lifetime.
    dashboard_max_streams: int = Field(default=100, ge=1, le=10_000)
    dashboard_stream_interval_s: float = Field(default=1.0, gt=0, le=60)
    dashboard_stream_max_s: float = Field(default=600.0, gt=0, le=86_400)
    # How long a browser stays signed in to the web UI.
    dashboard_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Failed sign-ins one address may make per 15 minutes before it is answered 429.
    dashboard_sign_in_failures: int = Field(default=10, ge=1, le=10_000)
    # The built web UI (index.html and assets/): default dashboard_service/web/dist, where
    # `npm run build` puts it; the container image sets its own copy.
    dashboard_web_dir: Path | None = None
    # Full stack: campaign views and the overview from the rollups core_service keeps in the
    # database (rollups/), raw events in Elasticsearch only where rollups cannot answer.
    # False: every view from Elasticsearch (e.g. before the rollups have caught up).
    dashboard_rollups: bool = True
    # Once started, keep Python's cyclic GC off the request path (servicekit.server_gc, as
    # entry_service does): a campaign view allocates thousands of sketch and row objects.
    dashboard_gc_tuning: bool = True


@lru_cache
def get_settings() -> DashboardSettings:
    return DashboardSettings()
