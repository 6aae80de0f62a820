"""How far a consumer group is behind on the embedded bus (the SQLite log), and a barrier that
waits for it to catch up: a test asserting that something did NOT happen waits for this first,
so the consumer has provably handled every message (its offsets are committed only after both
stores have the batch)."""

import sqlite3
import time
from pathlib import Path


def embedded_lag(path: Path, group: str, topic: str) -> int:
    """Messages of `topic` that `group` has not committed yet."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute(
            "SELECT COUNT(*) FROM log WHERE topic = ? AND offset >= COALESCE("
            "(SELECT next_offset FROM committed_offsets WHERE group_id = ? AND topic = ?), 0)",
            (topic, group, topic),
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def wait_until_caught_up(path: Path, group: str, topic: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while (lag := embedded_lag(path, group, topic)) > 0:
        assert time.monotonic() < deadline, f"group {group} still {lag} behind on {topic}"
        time.sleep(0.05)
