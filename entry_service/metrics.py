"""entry_service's metrics: events in, entry decisions, the Redis gate's fallbacks, rate limits.

The call sites make one call each. Reasons are the error codes Pulse answers with (a fixed
set), never a site, user or URL, so every label stays bounded.
"""

import re

from prometheus_client import Counter

from servicekit.engine_metrics import engine_error
from servicekit.errors import PulseError

SERVICE = "entry"
EVENTS_ACCEPTED = Counter("pulse_events_accepted_total", "Events accepted and published")
EVENTS_REJECTED = Counter(
    "pulse_events_rejected_total", "Events of a batch refused one by one, by reason", ["reason"]
)
BATCHES_REFUSED = Counter(
    "pulse_event_batches_refused_total", "Event batches refused whole, by error code", ["reason"]
)
ENTRY_DECISIONS = Counter(
    "pulse_entry_decisions_total",
    "Answers to entry requests by outcome (confirmed, reserved, rejected, refused) and reason",
    ["outcome", "reason"],
)
GATE_FALLBACKS = Counter(
    "pulse_entry_gate_fallbacks_total",
    "Entry requests decided without Redis (the durable database path), by reason",
    ["reason"],
)
RATE_LIMITED = Counter(
    "pulse_rate_limit_refusals_total",
    "Entry attempts refused by a rate limit, by the limits checked (ip, ip_and_user)",
    ["scope"],
)
# Requests let through unchecked because Redis was unreachable: an alert, not a silent gap.
RATE_LIMIT_FAILED_OPEN = Counter(
    "pulse_entry_rate_limit_failed_open_total",
    "Entry requests whose rate limits were not checked because Redis was unreachable",
)
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_FALLBACK_REASONS = {
    "ConnectionError": "redis_unreachable",
    "TimeoutError": "redis_timeout",
    "CountersUnavailable": "counters_cold",
}


# Known label sets start at 0, so the first fallback or refusal is an increase Prometheus sees.
for _reason_label in (*_FALLBACK_REASONS.values(), "other"):
    GATE_FALLBACKS.labels(_reason_label)
for _scope in ("ip", "ip_and_user"):
    RATE_LIMITED.labels(_scope)


def _reason(error: str) -> str:
    code = error.split(":", 1)[0]
    return code if _CODE.fullmatch(code) else "other"


def events_ingested(accepted: int, rejections: list[str]) -> None:
    EVENTS_ACCEPTED.inc(accepted)
    for error in rejections:
        EVENTS_REJECTED.labels(_reason(error)).inc()


def batch_refused(exc: PulseError) -> None:
    BATCHES_REFUSED.labels(_reason(exc.error_code)).inc()


def entry_answered(status: str, reason: str | None) -> None:
    ENTRY_DECISIONS.labels(status, reason or "none").inc()


def entry_refused(exc: PulseError) -> None:
    ENTRY_DECISIONS.labels("refused", _reason(exc.error_code)).inc()


def gate_fallback(exc: Exception) -> None:
    reason = _FALLBACK_REASONS.get(type(exc).__name__, "other")
    GATE_FALLBACKS.labels(reason).inc()
    if reason != "counters_cold":
        engine_error(SERVICE, "redis", "gate")


def rate_limited(limits_checked: int) -> None:
    RATE_LIMITED.labels("ip" if limits_checked == 1 else "ip_and_user").inc()


def rate_limit_failed_open() -> None:
    RATE_LIMIT_FAILED_OPEN.inc()


def redis_error(operation: str) -> None:
    engine_error(SERVICE, "redis", operation)


def kafka_error(operation: str) -> None:
    engine_error(SERVICE, "kafka", operation)
