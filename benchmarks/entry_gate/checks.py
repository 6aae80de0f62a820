"""After a variant: wait until core_service decided every reservation, then count the seats.

Drained means core_service's entries group has committed every reservation on the topic
(it commits after the batch's decisions are in Postgres and announced). Over-booking is then
checked where it could show: Postgres confirmed rows and the activity's confirmed count
against capacity, confirmed entries per user against the per-user limit, distinct positions,
and the gate's own count in Redis against capacity.
"""

import time
from dataclasses import dataclass
from uuid import UUID

import redis
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import func, select

from benchmarks.entry_gate.scratch import EntryScratch
from common_messaging import ENTRIES_REQUESTED
from datastore.engine import make_engine
from datastore.schema import Activity, Entry
from entry_service.adapters.redis_gate_scripts import activity_keys
from servicekit.database import Database


class DrainTimeout(RuntimeError):
    """core_service did not decide every reservation in time."""


def entries_lag(s: EntryScratch) -> int:
    """Reservations on the topic that core_service's group has not committed yet."""
    topic = s.topic_prefix + ENTRIES_REQUESTED
    consumer = Consumer(
        {
            "bootstrap.servers": s.engines.kafka,
            "group.id": s.entries_consumer_group,
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        lag = 0
        for tp in consumer.committed(partitions, timeout=10):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


def wait_drained(s: EntryScratch, timeout_s: float = 60.0) -> float:
    """Seconds it took until the lag was 0 (the entry server must be stopped or idle)."""
    start = time.monotonic()
    while True:
        lag = entries_lag(s)
        if lag == 0:
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise DrainTimeout(f"{lag} reservations still undecided after {timeout_s:.0f} s")
        time.sleep(0.5)


@dataclass(frozen=True)
class Seats:
    capacity: int
    per_user_limit: int
    confirmed_rows: int
    confirmed_count: int  # activities.confirmed_count, the capacity guard
    distinct_positions: int
    max_per_user: int
    rejected: dict[str, int]  # Postgres refusals of admitted reservations, by reason
    redis_count: int | None  # the gate's counter

    def violations(self) -> list[str]:
        bad = []
        if self.confirmed_rows > self.capacity:
            bad.append(f"{self.confirmed_rows} confirmed entries > capacity {self.capacity}")
        if self.confirmed_count != self.confirmed_rows:
            bad.append(f"confirmed_count {self.confirmed_count} != {self.confirmed_rows} rows")
        if self.confirmed_count > self.capacity:
            bad.append(f"confirmed_count {self.confirmed_count} > capacity {self.capacity}")
        if self.max_per_user > self.per_user_limit:
            bad.append(f"a user holds {self.max_per_user} > limit {self.per_user_limit}")
        if self.distinct_positions != self.confirmed_rows:
            bad.append(f"{self.distinct_positions} distinct positions for {self.confirmed_rows}")
        if self.redis_count is None:
            bad.append("the gate's Redis counter is missing")
        elif self.redis_count > self.capacity:
            bad.append(f"Redis gate count {self.redis_count} > capacity {self.capacity}")
        return bad


def count_seats(s: EntryScratch, activity_id: UUID) -> Seats:
    database = Database(make_engine(s.database_url))
    try:
        with database.reader() as session:
            activity = session.get_one(Activity, activity_id)
            confirmed = (Entry.activity_id == activity_id) & (Entry.status == "confirmed")
            rows, positions = session.execute(
                select(func.count(), func.count(func.distinct(Entry.position))).where(confirmed)
            ).one()
            per_user = (
                select(func.count().label("n")).where(confirmed).group_by(Entry.user_id).subquery()
            )
            max_per_user = session.scalar(select(func.max(per_user.c.n)))
            rejected = session.execute(
                select(Entry.reason, func.count())
                .where(Entry.activity_id == activity_id, Entry.status == "rejected")
                .group_by(Entry.reason)
            ).all()
            capacity, limit, confirmed_count = (
                activity.capacity,
                activity.per_user_limit,
                activity.confirmed_count,
            )
    finally:
        database.dispose()
    client = redis.Redis.from_url(s.engines.redis, socket_timeout=5)
    try:
        raw = client.get(activity_keys(activity_id)[0])
    finally:
        client.close()
    return Seats(
        capacity=int(capacity or 0),
        per_user_limit=limit,
        confirmed_rows=int(rows),
        confirmed_count=int(confirmed_count),
        distinct_positions=int(positions),
        max_per_user=int(max_per_user or 0),
        rejected={str(reason): int(n) for reason, n in rejected},
        redis_count=int(raw) if raw is not None else None,
    )
