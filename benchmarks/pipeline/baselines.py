"""Raw baselines: what each engine does with the same N events when no Pulse code is in the way.

Everything the engine does not need (encoding envelopes, building rows and documents, creating
users and indices) is prepared before the clock starts; only the engine round trips are timed.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message, Producer
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk
from psycopg.types.json import Jsonb
from pydantic_core import to_json
from sqlalchemy.engine import make_url

from analytics_index.document import document, index_name, index_template
from benchmarks.pipeline.dataset import OCCURRENCE_COLUMNS, occurrence_tuple, user_ids, user_rows
from common_messaging import EVENTS_RAW, EventOccurred, OutgoingMessage
from common_messaging.bus.kafka import producer_config

BATCH = 500
INSERT_PREFIX = f"INSERT INTO event_occurrences ({OCCURRENCE_COLUMNS}) VALUES "


class BaselineError(RuntimeError):
    """A baseline did not store exactly what it was given."""


@dataclass(frozen=True)
class Measurement:
    name: str
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def raw_kafka_produce(
    bootstrap: str, topic_prefix: str, messages: list[OutgoingMessage], events: int | None = None
) -> Measurement:
    """librdkafka with Pulse's producer_config: produce every message, then flush(). Counted
    in `events` (what the messages carry) when given, else in messages."""
    producer = Producer(producer_config(bootstrap, "pulse-bench-raw", 15_000))
    topic = topic_prefix + EVENTS_RAW
    errors: list[KafkaError] = []
    producer.list_topics(topic, timeout=10)  # connect and fetch metadata before the clock

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    start = time.perf_counter()
    for m in messages:
        while True:
            try:
                producer.produce(topic, value=m.value, key=m.key, on_delivery=delivered)
                break
            except BufferError:  # local queue full: serve deliveries, then retry
                producer.poll(0.05)
    remaining = producer.flush(60)
    seconds = time.perf_counter() - start
    if remaining or errors:
        raise BaselineError(f"kafka: {remaining} undelivered, {len(errors)} errors {errors[:1]}")
    return Measurement("raw Kafka produce (librdkafka)", events or len(messages), seconds)


def raw_postgres_insert(database_url: str, events: list[EventOccurred]) -> Measurement:
    """One multi-row INSERT per 500 rows of event_occurrences, one commit per batch."""

    def insert(cur: psycopg.Cursor[Any], chunk: list[tuple[Any, ...]]) -> None:
        values = ",".join(["(" + ",".join(["%s"] * len(chunk[0])) + ")"] * len(chunk))
        cur.execute(INSERT_PREFIX + values, [v for row in chunk for v in row])

    return _timed_batches(database_url, events, "raw Postgres multi-row INSERT", insert)


def raw_postgres_json_insert(database_url: str, events: list[EventOccurred]) -> Measurement:
    """One `INSERT ... SELECT ... FROM json_populate_recordset(...)` per 500 rows, all values in
    one JSON parameter (serialised inside the timing), one commit per batch: the batched INSERT
    the consumer itself uses, on one table."""
    names = [c.strip() for c in OCCURRENCE_COLUMNS.split(",")]
    sql = (
        f"INSERT INTO event_occurrences ({OCCURRENCE_COLUMNS}) "
        f"SELECT {OCCURRENCE_COLUMNS} FROM json_populate_recordset(NULL::event_occurrences, %s)"
    )

    def insert(cur: psycopg.Cursor[Any], chunk: list[tuple[Any, ...]]) -> None:
        plain = ([v.obj if isinstance(v, Jsonb) else v for v in row] for row in chunk)
        records = [dict(zip(names, row, strict=True)) for row in plain]
        cur.execute(sql, [to_json(records).decode()])

    return _timed_batches(database_url, events, "raw Postgres INSERT from JSON", insert)


def raw_postgres_copy(database_url: str, events: list[EventOccurred]) -> Measurement:
    """COPY FROM STDIN of the same rows, 500 per COPY, one commit per batch (run on an empty
    table): Postgres's own fastest way in, a stricter baseline than the INSERT."""

    def copy(cur: psycopg.Cursor[Any], chunk: list[tuple[Any, ...]]) -> None:
        with cur.copy(f"COPY event_occurrences ({OCCURRENCE_COLUMNS}) FROM STDIN") as pipe:
            for row in chunk:
                pipe.write_row(row)

    return _timed_batches(database_url, events, "raw Postgres COPY", copy)


def _timed_batches(
    database_url: str,
    events: list[EventOccurred],
    name: str,
    write: Callable[[psycopg.Cursor[Any], list[tuple[Any, ...]]], None],
) -> Measurement:
    ids = user_ids(events)
    users = user_rows(events, ids)
    rows = [occurrence_tuple(e, ids[(e.site_id, e.visitor_key)]) for e in events]
    with psycopg.connect(libpq_url(database_url)) as conn:
        with conn.cursor() as cur:  # a clean table and the users first, outside the timing
            cur.execute("TRUNCATE users CASCADE")  # and what refers to them: occurrences
            cur.executemany(
                "INSERT INTO users (id, site_id, user_key, external_id, created_at) "
                "VALUES (%(id)s, %(site_id)s, %(user_key)s, %(external_id)s, %(created_at)s)",
                users,
            )
        conn.commit()
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with conn.cursor() as cur:
                write(cur, rows[i : i + BATCH])
            conn.commit()
        seconds = time.perf_counter() - start
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT event_id) FROM event_occurrences")
            counted = cur.fetchone()
    if counted != (len(events), len(events)):
        raise BaselineError(f"{name} stored {counted}, expected {len(events)}")
    return Measurement(name, len(events), seconds)


def create_indices(es: Elasticsearch, prefix: str, events: list[EventOccurred]) -> list[str]:
    """The template, and the monthly indices the events fall into (created from it, untimed)."""
    es.indices.put_index_template(name=prefix, **index_template(prefix))
    names = sorted({index_name(e, prefix) for e in events})
    for name in names:
        es.indices.create(index=name)
    return names


def es_count(es: Elasticsearch, names: list[str]) -> int:
    es.indices.refresh(index=",".join(names))
    return int(es.count(index=",".join(names))["count"])


def raw_es_bulk(es: Elasticsearch, prefix: str, events: list[EventOccurred]) -> Measurement:
    """elasticsearch.helpers.bulk of the same documents, chunks of 500, op `create` by id."""
    names = create_indices(es, prefix, events)
    actions: list[dict[str, Any]] = [
        {
            "_op_type": "create",
            "_index": index_name(e, prefix),
            "_id": str(e.event_id),
            "_source": document(e),
        }
        for e in events
    ]
    start = time.perf_counter()
    ok, errors = bulk(es, actions, chunk_size=BATCH, raise_on_error=True, max_retries=5)
    seconds = time.perf_counter() - start
    counted = es_count(es, names)
    if ok != len(events) or errors or counted != len(events):
        raise BaselineError(f"es baseline: {ok} ok, {counted} counted, expected {len(events)}")
    return Measurement("raw Elasticsearch _bulk", len(events), seconds)
