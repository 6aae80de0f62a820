"""Scratch resources of one entry-gate benchmark run, removed at the end whatever happened.

A scratch Postgres database (created, migrated with `migrations.runner.upgrade`, dropped
`WITH (FORCE)`), a unique Kafka topic prefix (topics created by `prepare_bus`, then deleted
with core_service's consumer groups), one demo site with a campaign and the run's activities
seeded directly in the database, and the run's Redis keys (the gate counters, the locks and
the entry records; rate-limit keys expire by themselves within 11 s).
"""

import functools
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from confluent_kafka.admin import AdminClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from benchmarks.common.scratch import engine_urls
from benchmarks.entry_gate.baseline import admit_lock_name
from common_messaging.bus import BusSettings, prepare_bus
from datastore.admin import drop_database
from datastore.engine import make_engine
from datastore.schema import Activity, Campaign, Entry, Site
from entry_service.adapters.redis_gate_scripts import activity_keys, entry_key, lock_name
from migrations.runner import upgrade
from servicekit.database import Database

REQUIRED = ("PULSE_DATABASE_URL", "PULSE_KAFKA_BOOTSTRAP_SERVERS", "PULSE_REDIS_URL")


@dataclass(frozen=True)
class EntryEngines:
    database_url: str  # admin URL: the scratch database is created next to it
    kafka: str
    redis: str

    @classmethod
    def from_env(cls) -> "EntryEngines":
        return cls(*engine_urls(REQUIRED))


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    capacity: int
    per_user_limit: int


@dataclass
class EntryScratch:
    engines: EntryEngines
    run_id: str
    database_url: str = ""
    topic_prefix: str = ""
    consumer_group: str = ""
    entries_consumer_group: str = ""
    site_id: uuid.UUID | None = None
    activities: dict[str, uuid.UUID] = field(default_factory=dict)

    def bus(self) -> BusSettings:
        return BusSettings(
            kafka_bootstrap_servers=self.engines.kafka, kafka_topic_prefix=self.topic_prefix
        )


def _create_database(admin_url: str, name: str) -> str:
    engine = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        drop_database(engine, name)
    finally:
        engine.dispose()


def seed(database_url: str, specs: list[ActivitySpec]) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A demo site (plain `user_id` accepted, no allowed origins), one active campaign, and one
    open activity per spec; returns the site id and the activity ids by spec name."""
    now = datetime.now(UTC)
    database = Database(make_engine(database_url))
    try:
        with database.unit_of_work() as s:
            site = Site(
                name="Entry gate benchmark",
                site_key=f"pk_bench_{uuid.uuid4().hex[:12]}",
                allowed_origins=[],
                is_demo=True,
                active=True,
                signing_secret=f"whsec_bench_{uuid.uuid4().hex}",
                created_at=now,
                updated_at=now,
            )
            s.add(site)
            s.flush()
            campaign = Campaign(
                site_id=site.id, name="Spike", status="active", created_at=now, updated_at=now
            )
            s.add(campaign)
            s.flush()
            ids = {}
            for spec in specs:
                activity = Activity(
                    campaign_id=campaign.id,
                    name=spec.name,
                    type="fcfs",
                    capacity=spec.capacity,
                    per_user_limit=spec.per_user_limit,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
                s.add(activity)
                s.flush()
                ids[spec.name] = activity.id
            return site.id, ids
    finally:
        database.dispose()


@contextmanager
def entry_scratch(engines: EntryEngines, specs: list[ActivitySpec]) -> Iterator[EntryScratch]:
    run = uuid.uuid4().hex[:10]
    name = f"pulse_bench_entry_{run}"
    s = EntryScratch(
        engines=engines,
        run_id=run,
        topic_prefix=f"bench-entry-{run}.",
        consumer_group=f"pulse-bench-entry-{run}-occurrences",
        entries_consumer_group=f"pulse-bench-entry-{run}-entries",
    )
    created = False
    try:
        s.database_url = _create_database(engines.database_url, name)
        created = True
        upgrade(s.database_url)
        prepare_bus(s.bus())
        s.site_id, s.activities = seed(s.database_url, specs)
        yield s
    finally:
        _cleanup(s, name if created else None)


def _cleanup(s: EntryScratch, database: str | None) -> None:
    """Best effort, step by step: one failing step must not leave the others undone."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("delete redis keys", functools.partial(_delete_redis, s)),
        ("delete kafka topics and groups", functools.partial(_delete_kafka, s)),
    ]
    if database is not None:  # last: the Redis step reads the entry ids from it
        drop = functools.partial(_drop_database, s.engines.database_url, database)
        steps.append((f"drop database {database}", drop))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # report and go on with the other steps
            sys.stderr.write(f"cleanup: {what} failed: {type(exc).__name__}: {exc}\n")


def _delete_redis(s: EntryScratch) -> None:
    if not s.activities:
        return
    keys: list[str] = []
    for activity_id in s.activities.values():
        keys += activity_keys(activity_id)
        for name in (lock_name(activity_id), admit_lock_name(activity_id)):
            keys += [f"lock:{name}", f"lock-signal:{name}"]
    client = redis.Redis.from_url(s.engines.redis, socket_timeout=5)
    try:
        client.delete(*keys)
        delete_entry_copies(client, _entry_ids(s))
    finally:
        client.close()


def delete_entry_copies(client: redis.Redis, entry_ids: Iterable[uuid.UUID]) -> None:
    """The answers' copies (`pulse:entry:<id>`) of these entries, 1,000 keys a command."""
    keys = [entry_key(entry_id) for entry_id in entry_ids]
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def _entry_ids(s: EntryScratch) -> list[uuid.UUID]:
    """Every entry the run's activities recorded (each may have a `pulse:entry:<id>` key)."""
    database = Database(make_engine(s.database_url))
    try:
        with database.reader() as session:
            query = select(Entry.id).where(Entry.activity_id.in_(list(s.activities.values())))
            return list(session.scalars(query).all())
    finally:
        database.dispose()


def _delete_kafka(s: EntryScratch) -> None:
    admin = AdminClient({"bootstrap.servers": s.engines.kafka})
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [t for t in existing if t.startswith(s.topic_prefix)]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result(30)
    groups = [s.consumer_group, s.entries_consumer_group]
    for future in admin.delete_consumer_groups(groups, request_timeout=10).values():
        try:
            future.result(10)
        except Exception:  # a group that never committed does not exist; nothing to delete
            continue
