"""entry_service settings (env prefix `PULSE_`), read when first asked for, never at import."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from servicekit.settings import CommonSettings

# URL paths made of plain segments (no `..`, no spaces): for the renamable public paths.
_SEGMENTS = r"(/[A-Za-z0-9][A-Za-z0-9._~-]*)+"


class EntrySettings(CommonSettings):
    # Limits in the manner of Segment's tracking API.
    max_event_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    max_batch_events: int = 500
    definitions_max_age_s: int = 60
    site_cache_ttl_s: float = 5.0
    # How long Redis keeps a site's definitions; admin edits show within it plus the local TTL.
    site_redis_ttl_s: int = 30
    # Event times accepted after clock-skew correction: older ones are refused (as Google
    # Analytics and Segment do) and so are ones further ahead than the skew allowance.
    max_event_age_days: int = Field(default=30, ge=1, le=366)
    max_event_ahead_s: int = Field(default=600, ge=0, le=86_400)
    publish_retry_after_s: int = 2
    # The tracking snippet (docs/snippet.md): where `npm run build` put it (default: the
    # repository's snippet/dist), the path it is served at (its versioned copy at
    # `<path without .js>/<version>.js`), and an extra path for POST /v1/events. Renaming both
    # keeps ad-blocker lists, which match tracker-like names, from breaking the site's tracking.
    snippet_dir: Path | None = None
    snippet_path: str = Field(default="/snippet.js", pattern=rf"^{_SEGMENTS}\.js$")
    collect_path: str = Field(default="/v1/events", pattern=rf"^{_SEGMENTS}$")
    # Campaign entries: how long POST waits for Postgres's decision before answering
    # `reserved`, per-user and per-IP attempts per window, and the activity cache's TTL.
    entry_confirm_wait_s: float = 2.0
    entry_rate_limit_per_user: int = 10
    entry_rate_limit_per_ip: int = 600
    entry_rate_limit_window_s: int = 10
    activity_cache_ttl_s: float = 2.0
    # GET /v1/entries/{id} with Redis: how long an id known to neither Redis nor the ledger is
    # looked for in the ledger before the 404 (an answer whose record is still on the bus
    # while Redis lost its copy).
    entry_lookup_grace_s: float = Field(default=2.0, ge=0, le=30)
    # Redis connections of one worker's event loop (gate and limits). A spike queues requests
    # for a connection; too few make the queue, hence the latency tail, long. Mind Redis's
    # `maxclients` (10,000 by default) across all workers of all pods.
    entry_redis_max_connections: int = Field(default=128, ge=8, le=2048)
    # How often one instance (whichever takes the pass) gives back seats Redis holds for
    # admissions no record shows (a process killed between admission and publish).
    entry_reconcile_interval_s: float = Field(default=60.0, gt=0)
    # Once started, keep Python's cyclic GC off the request path (servicekit.server_gc:
    # startup objects frozen, a larger young generation): about a quarter of an entry
    # request's CPU otherwise.
    entry_gc_tuning: bool = True


@lru_cache
def get_settings() -> EntrySettings:
    return EntrySettings()
