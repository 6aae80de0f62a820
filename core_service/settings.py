"""core_service settings (env prefix `PULSE_`), read when first asked for, never at import."""

from functools import lru_cache

from pydantic import SecretStr

from servicekit.settings import CommonSettings


class CoreSettings(CommonSettings):
    admin_token: SecretStr | None = None
    consumer_enabled: bool = True
    # Keep Python's cyclic GC off the consumers' batches (servicekit/server_gc.py): a batch
    # allocates thousands of events, rows and sketches, and with the default thresholds the
    # collector took about half the store group's CPU (docs/benchmarks.md).
    core_gc_tuning: bool = True
    consumer_group: str = "pulse-core-occurrences"
    consumer_batch_size: int = 500
    consumer_poll_timeout_s: float = 0.5
    # The index group: reads what the store group produced (pulse.events.enriched.v1) into
    # Elasticsearch, at its own pace; an outage of the index only makes it lag.
    index_consumer_group: str = "pulse-core-index"
    index_batch_size: int = 2000
    index_poll_timeout_s: float = 0.2
    # Enrichment in the store path: a visitor counts as new this long after its first sighting.
    new_user_window_minutes: int = 30
    entries_consumer_group: str = "pulse-core-entries"
    entries_batch_size: int = 200
    # Short: a shopper may be waiting on the decision (the entry edge waits ~2 s for it).
    entries_poll_timeout_s: float = 0.05
    # How often unpaid product holds past their time are expired and their units released.
    hold_sweep_interval_s: float = 2.0
    # Stripe-Signature timestamps further than this from our clock are refused as replays.
    payment_signature_tolerance_s: int = 300
    # Shop webhooks (docs/webhooks.md). Private targets (and plain http) only for tests and
    # private networks: otherwise an admin could make Pulse post into its own network.
    webhooks_allow_private_targets: bool = False
    webhooks_timeout_s: float = 10.0
    webhooks_interval_s: float = 1.0


@lru_cache
def get_settings() -> CoreSettings:
    return CoreSettings()
