"""Traces: one event's trace id is the same in entry's and the consumer's logs, and the spans
run entry -> message headers -> consumer batch -> store writes. Off, the SDK is never loaded."""

import io
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from common_messaging.bus import BusSettings, prepare_bus
from common_messaging.topics import ALL_TOPICS
from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from servicekit.logs import configure_logging
from servicekit.tracing import configure_tracing, shutdown_tracing
from tests.e2e.flow import create_catalog, event
from tests.engines import engine_url

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def traced() -> Iterator[tuple[io.StringIO, InMemorySpanExporter]]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream, exporter = io.StringIO(), InMemorySpanExporter()
    configure_logging("DEBUG", "json", service="test", stream=stream)
    assert configure_tracing("test", exporter=exporter)
    yield stream, exporter
    shutdown_tracing()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.integration)])
def bus(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The embedded log, or a scratch prefix on the real Kafka (topics removed afterwards)."""
    if request.param == "embedded":
        yield {}
        return
    servers, run = engine_url("kafka"), uuid.uuid4().hex[:8]
    prefix = f"trace-{run}."
    # The services read the prefix from the environment when their settings are built.
    monkeypatch.setenv("PULSE_KAFKA_BOOTSTRAP_SERVERS", servers)
    monkeypatch.setenv("PULSE_KAFKA_TOPIC_PREFIX", prefix)
    prepare_bus(
        BusSettings(kafka_bootstrap_servers=servers, kafka_topic_prefix=prefix, kafka_partitions=1)
    )
    yield {
        "kafka_bootstrap_servers": servers,
        "consumer_group": f"trace-{run}",
        "entries_consumer_group": f"trace-entries-{run}",
    }
    admin = AdminClient({"bootstrap.servers": servers})
    topics = [prefix + t for t in ALL_TOPICS]
    for future in admin.delete_topics(topics, operation_timeout=10).values():
        future.result(10)
    groups = [f"trace-{run}", f"trace-entries-{run}"]
    for future in admin.delete_consumer_groups(groups, request_timeout=10).values():
        try:
            future.result(10)
        except Exception:  # a group that never committed does not exist
            pass


def test_one_events_trace_id_is_the_same_in_entry_and_consumer_logs(
    traced: tuple[io.StringIO, InMemorySpanExporter],
    data_dir: Path,
    database_url: str,
    bus: dict[str, str],
) -> None:
    stream, exporter = traced
    if bus:
        assert CoreSettings().bus.kafka_topic_prefix.startswith("trace-")
    common: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url, **bus}
    with ExitStack() as stack:
        core = stack.enter_context(
            TestClient(create_core(CoreSettings(admin_token=SecretStr("admin-secret"), **common)))
        )
        entry_settings = {k: v for k, v in common.items() if "group" not in k}
        entry = stack.enter_context(TestClient(create_entry(EntrySettings(**entry_settings))))
        catalog = create_catalog(core, ADMIN)
        view = catalog.definitions["coupon view"]
        batch = {"site_key": catalog.site_key, "events": [event(view, "page_view", "v1", "UA")]}
        assert entry.post("/v1/events", json=batch).status_code == 202
        deadline = time.monotonic() + 30
        while not any(line["event"] == "consumer_batch_stored" for line in _lines(stream)):
            assert time.monotonic() < deadline, "the consumer never stored the event"
            time.sleep(0.1)

    lines = _lines(stream)
    (accepted,) = [line for line in lines if line["event"] == "events_accepted"]
    (stored,) = [line for line in lines if line["event"] == "consumer_batch_stored"]
    assert accepted["service"] == "entry" and stored["service"] == "core"
    assert len(accepted["trace_id"]) == 32
    assert stored["trace_id"] == accepted["trace_id"]
    assert stored.get("request_id") is None  # the consumer serves no request

    trace_id = int(accepted["trace_id"], 16)
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    by_name = {s.name: s for s in spans}
    server = by_name["POST /v1/events"]
    consumer = by_name["process pulse.events.raw.v1"]
    assert server.kind == SpanKind.SERVER and consumer.kind == SpanKind.CONSUMER
    assert consumer.parent is not None and consumer.parent.span_id == server.context.span_id
    for store in ("write database", "write analytics_index"):
        assert by_name[store].parent.span_id == consumer.context.span_id  # type: ignore[union-attr]
    admin_traces = {
        s.context.trace_id
        for s in exporter.get_finished_spans()
        if s.name.startswith("POST /v1/sites")
    }
    assert trace_id not in admin_traces  # each request is a trace of its own


def test_tracing_off_loads_nothing_and_adds_no_header(tmp_path: Path) -> None:
    """Without an endpoint the tracing SDK and exporter are never imported (the API alone may be:
    the Elasticsearch client imports it), no span is made, and messages stay as they were."""
    script = f"""
import sys
from fastapi.testclient import TestClient
from entry_service.main import create_app
from entry_service.settings import EntrySettings
from common_messaging import OutgoingMessage
from servicekit.tracing import configure_tracing, with_trace_context, enabled
assert configure_tracing("entry") is False and not enabled()
messages = [OutgoingMessage(value=b"x")]
assert with_trace_context(messages) is messages
settings = EntrySettings(data_dir={str(tmp_path)!r})
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
loaded = sorted(
    m for m in sys.modules
    if m.startswith(("opentelemetry.sdk.trace", "opentelemetry.exporter"))
)
assert loaded == [], loaded
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
