"""The consumer loop when its own bookkeeping fails: a commit that fails (partitions revoked
mid-batch, broker gone) and a dead-letter write that fails. Either way nothing may be lost:
the batch is not committed past, and the next step delivers it again; the idempotent store
absorbs the replay. Also the loop itself: it outlives a failing step and closes its consumer.
"""

import threading
from collections.abc import Sequence
from pathlib import Path

from common_messaging import EVENTS_DLQ, EVENTS_RAW, OutgoingMessage, ReceivedMessage
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.loop import OccurrenceConsumer
from tests.support.factories import message, occurrence
from tests.unit.test_consumer_loop import FakeStore, _dead_letters


class FlakyConsumer:
    """The embedded log (wrapped), whose next `fail_commits` commits raise (as Kafka's may)."""

    def __init__(self, path: Path) -> None:
        self.inner = SqliteLogConsumer(path, "core", [EVENTS_RAW])
        self.fail_commits = 0
        self.rewinds = 0
        self.closed = False

    def poll(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        return self.inner.poll(max_messages, timeout_s)

    def commit(self, messages: Sequence[ReceivedMessage]) -> None:
        if self.fail_commits:
            self.fail_commits -= 1
            raise RuntimeError("commit failed: partitions revoked")
        self.inner.commit(messages)

    def rewind_to_committed(self) -> None:
        self.rewinds += 1
        self.inner.rewind_to_committed()

    def close(self) -> None:
        self.closed = True
        self.inner.close()


class FlakyPublisher:
    """The embedded log (wrapped), whose dead-letter writes fail while `down`."""

    def __init__(self, path: Path) -> None:
        self.inner = SqliteLogPublisher(path)
        self.down = False

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        await self.inner.publish(topic, messages)

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        if self.down and topic == EVENTS_DLQ:
            raise ConnectionError("dead-letter topic unreachable")
        self.inner.publish_sync(topic, messages)

    def close(self) -> None:
        self.inner.close()


def _loop(
    path: Path, store: FakeStore
) -> tuple[OccurrenceConsumer, FlakyConsumer, FlakyPublisher, list[float]]:
    consumer, publisher, sleeps = FlakyConsumer(path), FlakyPublisher(path), []
    loop = OccurrenceConsumer(
        consumer, publisher, store, store.healthy, poll_timeout_s=0.05, sleep=sleeps.append
    )
    return loop, consumer, publisher, sleeps


def _uncommitted(path: Path) -> int:
    return len(SqliteLogConsumer(path, "core", [EVENTS_RAW]).poll(100, 0.05))


def test_a_failed_commit_rewinds_and_the_batch_comes_again(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    loop, consumer, publisher, _ = _loop(path, store)
    events = [occurrence(), occurrence()]
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    consumer.fail_commits = 1
    assert loop.step() == 0
    assert consumer.rewinds == 1 and _uncommitted(path) == 2
    assert loop.step() == 2  # delivered again, now committed
    assert store.stored == events + events  # stored twice: the real store dedups by event id
    assert _uncommitted(path) == 0


def test_a_failed_dead_letter_write_commits_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    loop, consumer, publisher, sleeps = _loop(path, store)
    good = occurrence()
    publisher.publish_sync(EVENTS_RAW, [OutgoingMessage(b"{garbage"), message(good)])
    publisher.down = True
    assert loop.step() == 0
    assert _uncommitted(path) == 2 and _dead_letters(path) == []
    assert consumer.rewinds == 1 and len(sleeps) == 1  # backed off before trying again
    publisher.down = False
    assert loop.step() == 2
    [(value, headers)] = _dead_letters(path)
    assert value == b"{garbage" and headers["error"].startswith("decode_error")
    assert _uncommitted(path) == 0


def test_a_refused_event_is_not_skipped_when_its_dead_letter_cannot_be_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    store.poison_names = {"bad"}
    loop, _, publisher, _ = _loop(path, store)
    publisher.publish_sync(EVENTS_RAW, [message(occurrence(name="bad"))])
    publisher.down = True
    assert loop.step() == 0
    assert _uncommitted(path) == 1
    publisher.down = False
    assert loop.step() == 1
    assert [h["error"].split(":")[0] for _, h in _dead_letters(path)] == ["store_error"]


def test_backoff_grows_and_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    store.down = True
    loop, _, publisher, sleeps = _loop(path, store)
    publisher.publish_sync(EVENTS_RAW, [message(occurrence())])
    for _ in range(12):
        assert loop.step() == 0
    assert sleeps[:4] == [0.4, 0.8, 1.6, 3.2]
    assert max(sleeps) == 30.0 and sleeps == sorted(sleeps)
    store.down = False
    assert loop.step() == 1
    store.down = True
    publisher.publish_sync(EVENTS_RAW, [message(occurrence())])
    loop.step()
    assert sleeps[-1] == 0.4  # a success resets the backoff


def test_the_loop_outlives_a_failing_step_and_closes_its_consumer(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    store = FakeStore()
    stop = threading.Event()
    loop, consumer, publisher, sleeps = _loop(path, store)
    calls = {"n": 0}
    real_poll = consumer.poll

    def poll(max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("broker hiccup")
        if calls["n"] >= 3:
            stop.set()
        return real_poll(max_messages, timeout_s)

    consumer.poll = poll  # type: ignore[method-assign]
    publisher.publish_sync(EVENTS_RAW, [message(occurrence())])
    runner = threading.Thread(target=loop.run, args=(stop,))
    runner.start()
    runner.join(10)
    assert not runner.is_alive()
    assert len(store.stored) == 1 and len(sleeps) == 1 and consumer.closed
