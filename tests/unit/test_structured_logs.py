"""Logs: one JSON object per line with the fields on-call searches by, and never a secret."""

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from servicekit.logs import configure_logging, redact

ADMIN = "adm_S3cr3tAdminTokenValue"
DASHBOARD = "plain-dashboard-token-42"  # no recognisable shape: masked because it is registered


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """JSON logs into a buffer; the root logger's handlers and level restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", "json", service="test", stream=stream, secrets=[ADMIN, DASHBOARD])
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_line_is_one_json_object_with_event_and_fields(captured: io.StringIO) -> None:
    logging.getLogger("core_service.consumer.loop").warning(
        "consumer_dead_lettered topic=%s offset=%d error=%s", "pulse.events.raw.v1", 17, "decode"
    )
    logging.getLogger("a_library").info("Started server process [%d]", 42)
    first, second = _lines(captured)
    assert first["event"] == "consumer_dead_lettered"
    assert first["service"] == "core"  # from the logger's package
    assert first["level"] == "warning"
    assert (first["topic"], first["offset"], first["error"]) == (
        "pulse.events.raw.v1",
        "17",
        "decode",
    )
    assert first["timestamp"].endswith("+00:00") and "T" in first["timestamp"]
    assert second["service"] == "test"
    assert second["event"] == "log"
    assert second["message"] == "Started server process [42]"


def test_a_value_with_spaces_keeps_the_whole_message(captured: io.StringIO) -> None:
    logging.getLogger("entry_service.adapters.redis_entry_gate").warning(
        "entry_gate_fallback activity_id=%s error=%s", "a1", "Error 111 connecting to redis"
    )
    (line,) = _lines(captured)
    assert line["event"] == "entry_gate_fallback"
    assert line["activity_id"] == "a1"
    assert line["message"].endswith("error=Error 111 connecting to redis")


SECRET_MESSAGES = [
    ("database_url url=%s", "postgresql+psycopg://pulse:hunter2pw@db:5432/pulse", "hunter2pw"),
    ("header %s", "Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
    ("token_seen value=%s", ADMIN, "S3cr3tAdminTokenValue"),
    ("token_seen value=%s", DASHBOARD, DASHBOARD),
    ("query %s", "/v1/x?token=qwerty123&x=1", "qwerty123"),
    ("body %s", '{"password": "p4ssw0rd!"}', "p4ssw0rd"),
    ("jwt %s", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl", "c2lnbmF0dXJl"),
    ("redis %s", "redis://:r3dispass@redis:6379/0", "r3dispass"),
]


@pytest.mark.parametrize(("message", "value", "secret"), SECRET_MESSAGES)
def test_secrets_are_masked(captured: io.StringIO, message: str, value: str, secret: str) -> None:
    logging.getLogger("pulse").info(message, value)
    (line,) = _lines(captured)
    assert secret not in json.dumps(line)
    assert "***" in json.dumps(line)


def test_secrets_in_exceptions_are_masked(captured: io.StringIO) -> None:
    try:
        raise RuntimeError(f"could not connect with Bearer {ADMIN}")
    except RuntimeError:
        logging.getLogger("pulse").exception("connect_failed")
    (line,) = _lines(captured)
    assert "RuntimeError" in line["exception"]
    assert ADMIN not in captured.getvalue()


def test_text_format_is_kept_for_developers_and_masks_too() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging("INFO", "text", stream=stream, secrets=[DASHBOARD])
        logging.getLogger("pulse").info("site_created token=%s other=%s", "x" * 12, DASHBOARD)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
    line = stream.getvalue()
    assert " INFO pulse site_created token=*** other=***" in line
    assert not line.startswith("{")


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "consumer_batch_failed size=500 error=OperationalError url=http://es:9200/_bulk"
    assert redact(text) == text


def test_real_requests_log_json_with_request_ids_and_no_token(
    captured: io.StringIO, tmp_path: Path
) -> None:
    """Admin and dashboard traffic, wrong tokens included: every line is JSON, none has a token."""
    url = f"sqlite:///{tmp_path / 'pulse.sqlite3'}"
    from migrations.runner import upgrade

    upgrade(url)
    core = create_core(
        CoreSettings(database_url=url, admin_token=SecretStr(ADMIN), consumer_enabled=False)
    )
    dashboard = create_dashboard(
        DashboardSettings(
            database_url=url,
            admin_token=SecretStr(ADMIN),
            dashboard_token=SecretStr(DASHBOARD),
        )
    )
    with TestClient(core) as admin, TestClient(dashboard) as reader:
        made = admin.post(
            "/v1/sites",
            json={"name": "Shop", "allowed_origins": ["https://shop.example"]},
            headers={"Authorization": f"Bearer {ADMIN}", "X-Request-ID": "req-given-12345"},
        )
        assert made.status_code == 201
        assert made.headers["x-request-id"] == "req-given-12345"
        refused = admin.get("/v1/sites", headers={"Authorization": f"Bearer {ADMIN}x"})
        assert refused.status_code == 401
        assert len(refused.headers["x-request-id"]) == 32  # a new one, none was given
        bad_id = admin.get("/healthz", headers={"X-Request-ID": "bad id\nforged line"})
        assert "forged" not in bad_id.headers["x-request-id"]
        assert reader.post("/v1/session", json={"token": DASHBOARD + "x"}).status_code == 401
        assert reader.post("/v1/session", json={"token": DASHBOARD}).status_code == 200
        logging.getLogger("core_service.api").info("inside_test token=%s", ADMIN)
    lines = _lines(captured)
    assert len(lines) >= 2
    for line in lines:
        assert {"timestamp", "level", "service", "event"} <= set(line)
    text = captured.getvalue()
    for secret in (ADMIN, DASHBOARD, ADMIN + "x"):
        assert secret not in text


def test_a_deployed_service_process_logs_json_lines_without_tokens(tmp_path: Path) -> None:
    """`pulse dashboard` as deployed: uvicorn's lines and Pulse's alike are JSON, no token."""
    import httpx

    from tests.e2e.process import PULSE, clean_env, free_ports, process, wait_ready

    (port,) = free_ports(1)
    env = clean_env(
        {
            "PULSE_DATA_DIR": str(tmp_path / "data"),
            "PULSE_ADMIN_TOKEN": ADMIN,
            "PULSE_DASHBOARD_TOKEN": DASHBOARD,
        }
    )
    log = tmp_path / "dashboard.log"
    args = [PULSE, "dashboard", "--host", "127.0.0.1", "--port", str(port)]
    with process(args, env, log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log)
        headers = {"Authorization": f"Bearer {DASHBOARD}"}
        assert httpx.get(f"{url}/v1/campaigns", headers=headers).status_code == 200
        wrong = {"Authorization": f"Bearer {DASHBOARD}-wrong"}
        assert httpx.get(f"{url}/v1/campaigns", headers=wrong).status_code == 401
        assert httpx.post(f"{url}/v1/session", json={"token": ADMIN + "x"}).status_code == 401
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    for line in lines:
        assert {"timestamp", "level", "service", "logger", "event"} <= set(line), line
    assert ADMIN not in text and DASHBOARD not in text
