"""Embedded event bus: a durable append-only log in one SQLite file.

Offsets are per topic and monotonic; a consumer group resumes from its committed offset after a
restart, so delivery is at-least-once exactly as with Kafka. One partition per topic.
"""

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from common_messaging.bus.ports import BusUnavailableError, OutgoingMessage, ReceivedMessage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    headers TEXT NOT NULL,
    appended_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS log_topic_offset ON log (topic, offset);
CREATE TABLE IF NOT EXISTS committed_offsets (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic)
);
"""

_POLL_INTERVAL_S = 0.05


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a message acknowledged to a client must survive a power cut, as acks=all would.
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    return conn


class SqliteLogPublisher:
    def __init__(self, path: Path) -> None:
        self._conn = _connect(path)
        self._lock = threading.Lock()

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        await asyncio.to_thread(self.publish_sync, topic, messages)

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        now = time.time()
        rows = [(topic, m.key, m.value, json.dumps(dict(m.headers)), now) for m in messages]
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(
                        "INSERT INTO log (topic, key, value, headers, appended_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        rows,
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise BusUnavailableError(f"embedded log rejected the write: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SqliteLogConsumer:
    def __init__(
        self, path: Path, group_id: str, topics: Sequence[str], *, start_at_latest: bool = False
    ) -> None:
        self._conn = _connect(path)
        self._group_id = group_id
        self._topics = list(topics)
        self._position: dict[str, int] = {}
        self._start_at_latest = start_at_latest
        self.rewind_to_committed()

    def rewind_to_committed(self) -> None:
        committed = dict(
            self._conn.execute(
                "SELECT topic, next_offset FROM committed_offsets WHERE group_id = ?",
                (self._group_id,),
            ).fetchall()
        )
        self._position = {
            topic: int(committed.get(topic, self._latest(topic) if self._start_at_latest else 0))
            for topic in self._topics
        }

    def _latest(self, topic: str) -> int:
        row = self._conn.execute("SELECT MAX(offset) FROM log WHERE topic = ?", (topic,)).fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def poll(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout_s
        while True:
            batch = self._read(max_messages)
            if batch or time.monotonic() >= deadline:
                return batch
            time.sleep(_POLL_INTERVAL_S)

    def _read(self, max_messages: int) -> list[ReceivedMessage]:
        batch: list[ReceivedMessage] = []
        for topic in self._topics:
            remaining = max_messages - len(batch)
            if remaining <= 0:
                break
            rows = self._conn.execute(
                "SELECT offset, key, value, headers FROM log "
                "WHERE topic = ? AND offset >= ? ORDER BY offset LIMIT ?",
                (topic, self._position[topic], remaining),
            ).fetchall()
            for offset, key, value, headers in rows:
                batch.append(
                    ReceivedMessage(
                        topic=topic,
                        partition=0,
                        offset=int(offset),
                        value=bytes(value),
                        key=bytes(key) if key is not None else None,
                        headers=json.loads(headers),
                    )
                )
            if rows:
                self._position[topic] = int(rows[-1][0]) + 1
        return batch

    def commit(self, messages: Sequence[ReceivedMessage]) -> None:
        next_offsets: dict[str, int] = {}
        for message in messages:
            next_offsets[message.topic] = max(
                next_offsets.get(message.topic, 0), message.offset + 1
            )
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for topic, next_offset in next_offsets.items():
                self._conn.execute(
                    "INSERT INTO committed_offsets (group_id, topic, next_offset) "
                    "VALUES (?, ?, ?) ON CONFLICT (group_id, topic) "
                    "DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                    (self._group_id, topic, next_offset),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()
