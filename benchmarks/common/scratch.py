"""Scratch resources of one benchmark run, and their removal at the end whatever happened.

Two scratch Postgres databases (one for the raw insert baseline, one for the consumer and the
entry service, so both write into equally empty tables), a unique Kafka topic prefix and
consumer group, and two unique Elasticsearch index prefixes (raw baseline, consumer). Indices
are deleted by name (the cluster refuses wildcard deletes), then their templates.
"""

import functools
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common_messaging.bus import BusSettings, prepare_bus
from common_messaging.topics import ALL_TOPICS
from datastore.admin import drop_database
from migrations.runner import upgrade

log = logging.getLogger(__name__)

REQUIRED = (
    "PULSE_DATABASE_URL",
    "PULSE_KAFKA_BOOTSTRAP_SERVERS",
    "PULSE_ELASTICSEARCH_URL",
    "PULSE_REDIS_URL",
)


class SetupError(RuntimeError):
    """The benchmark cannot run here (an engine or a tool is missing)."""


def engine_urls(names: tuple[str, ...]) -> list[str]:
    """The stack's URLs from the environment, or a SetupError naming what is missing."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise SetupError(
            f"{', '.join(missing)} not set: run `scripts/stack up && "
            'eval "$(scripts/stack env)"` first'
        )
    return [os.environ[name] for name in names]


@dataclass(frozen=True)
class Engines:
    database_url: str
    kafka: str
    elasticsearch: str
    redis: str

    @classmethod
    def from_env(cls) -> "Engines":
        return cls(*engine_urls(REQUIRED))


@dataclass(frozen=True)
class Scratch:
    engines: Engines
    run_id: str
    database_url: str  # consumer phase and entry service
    baseline_database_url: str  # raw insert baseline
    topic_prefix: str
    consumer_group: str
    es_prefix: str  # the consumer's analytics index (template, alias and monthly indices)
    es_raw_prefix: str  # the raw _bulk baseline's index

    @property
    def live_topic_prefix(self) -> str:
        """Topics of a phase that must start empty (the pipeline's event -> queryable)."""
        return self.topic_prefix + "live."

    def bus(self) -> BusSettings:
        return BusSettings(
            kafka_bootstrap_servers=self.engines.kafka, kafka_topic_prefix=self.topic_prefix
        )

    def live_bus(self) -> BusSettings:
        return BusSettings(
            kafka_bootstrap_servers=self.engines.kafka, kafka_topic_prefix=self.live_topic_prefix
        )


def _create_database(admin_url: str, name: str) -> str:
    engine = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def _drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        drop_database(engine, name)
    finally:
        engine.dispose()


@contextmanager
def scratch(engines: Engines) -> Iterator[Scratch]:
    run = uuid.uuid4().hex[:10]
    names = (f"pulse_bench_{run}", f"pulse_bench_{run}_raw")
    created: list[str] = []
    es_prefix, es_raw = f"pulse-bench-{run}", f"pulse-benchraw-{run}"
    s = Scratch(
        engines=engines,
        run_id=run,
        database_url="",
        baseline_database_url="",
        topic_prefix=f"bench-{run}.",
        consumer_group=f"pulse-bench-{run}",
        es_prefix=es_prefix,
        es_raw_prefix=es_raw,
    )
    try:
        urls = []
        for name in names:
            created.append(name)
            urls.append(_create_database(engines.database_url, name))
        s = Scratch(**{**s.__dict__, "database_url": urls[0], "baseline_database_url": urls[1]})
        prepare_bus(s.bus())
        prepare_bus(s.live_bus())
        yield s
    finally:
        _cleanup(s, created)


def _cleanup(s: Scratch, databases: list[str]) -> None:
    """Best effort, step by step: one failing step must not leave the others undone."""
    steps: list[tuple[str, Callable[[], None]]] = [
        (f"drop database {n}", functools.partial(_drop_database, s.engines.database_url, n))
        for n in databases
    ]
    steps.append(("delete kafka topics and group", functools.partial(_delete_kafka, s)))
    steps.append(("delete es indices and templates", functools.partial(_delete_es, s)))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # report and go on with the other steps
            sys.stderr.write(f"cleanup: {what} failed: {type(exc).__name__}: {exc}\n")


# Consumer groups a benchmark may create besides `consumer_group` itself (suffixes to it): the
# pipeline's index group, the `pulse worker` of its event -> queryable phase, and the entries
# group of worker_scaling's `pulse worker`.
LIVE_GROUP_SUFFIXES = ("-index", "-live", "-live-index", "-live-entries", "-entries")


def _delete_kafka(s: Scratch) -> None:
    admin = AdminClient({"bootstrap.servers": s.engines.kafka})
    topics = [p + t for p in (s.topic_prefix, s.live_topic_prefix) for t in ALL_TOPICS]
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [t for t in topics if t in existing]
    for future in admin.delete_topics(doomed, operation_timeout=30).values():
        future.result(30)
    groups = admin.delete_consumer_groups(
        [s.consumer_group + suffix for suffix in ("", *LIVE_GROUP_SUFFIXES)],
        request_timeout=10,
    )
    for future in groups.values():
        try:
            future.result(10)
        except Exception as exc:  # a group never joined does not exist; nothing to delete
            log.debug("consumer group not deleted: %s", exc)


def _delete_es(s: Scratch) -> None:
    es = Elasticsearch(s.engines.elasticsearch, request_timeout=30)
    try:
        for prefix in (s.es_prefix, s.es_raw_prefix):
            found = es.indices.get(index=f"{prefix}-*", allow_no_indices=True)
            for index in found:
                es.indices.delete(index=index)
            es.options(ignore_status=404).indices.delete_index_template(name=prefix)
    finally:
        es.close()


def delete_redis_keys(url: str, keys: list[str]) -> None:
    """The entry service's cache entries of the benchmark site (they also expire by TTL)."""
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        if keys:
            client.delete(*keys)
    finally:
        client.close()
