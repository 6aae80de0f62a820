"""Engine reachability and client errors, the same names in every service.

`pulse_engine_up` is set by the readiness checks (the kubelet runs them every few seconds);
`pulse_engine_errors_total` is counted where a Redis, Kafka or Elasticsearch call failed.
"""

from prometheus_client import Counter, Gauge

ENGINE_ERRORS = Counter(
    "pulse_engine_errors_total",
    "Failed calls to an engine's client, by service, engine and operation",
    ["service", "engine", "operation"],
)
ENGINE_UP = Gauge(
    "pulse_engine_up",
    "1 if the engine answered the service's last readiness check, else 0",
    ["service", "engine"],
)
# Readiness check names -> the engine they probe.
CHECK_ENGINES = {
    "database": "database",
    "redis": "redis",
    "elasticsearch": "elasticsearch",
    "kafka": "kafka",
}


def engine_error(service: str, engine: str, operation: str) -> None:
    ENGINE_ERRORS.labels(service, engine, operation).inc()


def record_checks(service: str, results: dict[str, str]) -> None:
    for check, outcome in results.items():
        engine = CHECK_ENGINES.get(check)
        if engine is not None:
            ENGINE_UP.labels(service, engine).set(1 if outcome == "ok" else 0)
