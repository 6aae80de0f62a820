"""`pulse dlq list|replay` on the embedded bus: a dead letter is listed with its reason, and a
replay sends it back to its source topic once; the consumer absorbs it by event id."""

import json
from pathlib import Path

import pytest

from common_messaging import EVENTS_DLQ, EVENTS_RAW, OutgoingMessage
from common_messaging.bus import BusSettings
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from pulse import cli, dead_letters
from tests.support.factories import message, occurrence


def _dead_letter(path: Path, value: bytes, error: str) -> None:
    SqliteLogPublisher(path).publish_sync(
        EVENTS_DLQ,
        [
            OutgoingMessage(
                value=value, key=b"k", headers={"error": error, "source_topic": EVENTS_RAW}
            )
        ],
    )


def test_list_then_replay_once(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bus = BusSettings(data_dir=data_dir)
    original = message(occurrence()).value
    _dead_letter(bus.log_path, original, "store_error: OperationalError: gone")
    _dead_letter(bus.log_path, b"{garbage", "decode_error: not JSON")

    listed = dead_letters.list_dead_letters(bus, EVENTS_DLQ, wait_s=2)
    assert [(d.error.split(":")[0], d.message_id is not None) for d in listed] == [
        ("store_error", True),
        ("decode_error", False),
    ]
    # Listing moves nothing: a second look sees the same two.
    assert len(dead_letters.list_dead_letters(bus, EVENTS_DLQ, wait_s=2)) == 2

    assert cli.main(["--data-dir", str(data_dir), "dlq", "replay", "--wait", "2"]) == 0
    assert "replayed 2 message(s)" in capsys.readouterr().out
    back = SqliteLogConsumer(bus.log_path, "core", [EVENTS_RAW]).poll(10, 0.1)
    assert [m.value for m in back] == [original, b"{garbage"]
    # Replayed once: a second replay finds nothing new.
    assert dead_letters.replay(bus, EVENTS_DLQ, wait_s=1) == 0

    assert cli.main(["--data-dir", str(data_dir), "dlq", "list", "--wait", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["source"] for line in lines] == [EVENTS_RAW, EVENTS_RAW]
