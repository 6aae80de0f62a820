"""Transient store failures are retried and never dead-lettered; the data's own failures are
bisected down to the message and dead-lettered alone."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError
from elasticsearch import ConnectionError as EsConnectionError
from sqlalchemy import exc as sa

from analytics_index.elasticsearch import IndexingError
from common_messaging import EVENTS_DLQ, EVENTS_RAW, BusUnavailableError, EventOccurred
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.failures import failure_kind
from core_service.consumer.loop import OccurrenceConsumer
from tests.support.factories import message, occurrence


def _es_error(status: int, reason: str = "mapper_parsing_exception") -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.01, NodeConfig("http", "h", 9200))
    return ApiError(reason, meta, {"error": {"type": reason}})


def _bulk_refusal(status: int, reason: str) -> IndexingError:
    item = {"create": {"status": status, "error": {"type": reason}, "_id": "x"}}
    return IndexingError("refused", [item])


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (sa.OperationalError("INSERT", {}, Exception("server closed the connection")), "transient"),
        (sa.OperationalError("INSERT", {}, Exception("deadlock detected")), "transient"),
        (sa.InternalError("INSERT", {}, Exception("read-only transaction")), "transient"),
        (sa.InterfaceError("INSERT", {}, Exception("connection already closed")), "transient"),
        (sa.IntegrityError("INSERT", {}, Exception("violates foreign key")), "data"),
        (sa.DataError("INSERT", {}, Exception("value too long")), "data"),
        (_bulk_refusal(429, "es_rejected_execution_exception"), "transient"),
        (_bulk_refusal(503, "unavailable_shards_exception"), "transient"),
        (_bulk_refusal(403, "cluster_block_exception"), "transient"),
        (_bulk_refusal(400, "mapper_parsing_exception"), "data"),
        (_es_error(429, "too_many_requests"), "transient"),
        (_es_error(502, "bad_gateway"), "transient"),
        (_es_error(400), "data"),
        (EsConnectionError("refused"), "transient"),
        (ConnectionRefusedError(), "transient"),
        # The index feed not acknowledged after the Postgres commit: the batch is retried.
        (BusUnavailableError("kafka did not acknowledge 3 message(s)"), "transient"),
        (ValueError("something else"), "unknown"),
    ],
)
def test_failures_are_classified(exc: BaseException, kind: str) -> None:
    assert failure_kind(exc) == kind


class ScriptedStore:
    """Refuses any batch holding a poisoned event with `error`; counts the calls."""

    def __init__(self, error: BaseException, poisoned: set[str]) -> None:
        self.error, self.poisoned = error, poisoned
        self.stored: list[EventOccurred] = []
        self.calls = 0

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        self.calls += 1
        if any(e.name in self.poisoned for e in events):
            raise self.error
        self.stored.extend(events)


def _run(tmp_path: Path, store: ScriptedStore, events: list[EventOccurred]) -> int:
    path = tmp_path / "bus.sqlite3"
    publisher = SqliteLogPublisher(path)
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    loop = OccurrenceConsumer(
        SqliteLogConsumer(path, "core", [EVENTS_RAW]),
        publisher,
        store,
        lambda: True,  # the stores answer: classification alone must decide
        poll_timeout_s=0.05,
        sleep=lambda _s: None,
    )
    return loop.step()


def _dead_lettered(tmp_path: Path) -> list[dict[str, str]]:
    dlq = SqliteLogConsumer(tmp_path / "bus.sqlite3", "ops", [EVENTS_DLQ])
    return [dict(m.headers) for m in dlq.poll(100, 0.05)]


def test_a_data_fault_is_bisected_to_the_one_bad_message(tmp_path: Path) -> None:
    events = [occurrence(name=f"e{i}") for i in range(64)]
    store = ScriptedStore(sa.DataError("INSERT", {}, Exception("value too long")), {"e37"})
    assert _run(tmp_path, store, events) == 64
    assert [e.name for e in store.stored] == [f"e{i}" for i in range(64) if i != 37]
    [dead] = _dead_lettered(tmp_path)
    assert dead["error"].startswith("store_error: DataError")
    # Bisection: about 2·log2(64) calls, where one by one would take 65.
    assert store.calls <= 2 * 6 + 1


def test_a_transient_fault_dead_letters_nothing_even_when_stores_answer(tmp_path: Path) -> None:
    events = [occurrence(name=f"e{i}") for i in range(8)]
    deadlock = sa.OperationalError("INSERT", {}, Exception("deadlock detected"))
    store = ScriptedStore(deadlock, {"e3"})
    assert _run(tmp_path, store, events) == 0  # nothing committed: retried after a backoff
    assert _dead_lettered(tmp_path) == []
    assert store.calls == 1  # not bisected: the batch is not the problem
