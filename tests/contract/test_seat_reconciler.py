"""The seat reconciler gives back a seat Redis holds for an admission no record shows (a
process killed between admission and publish), only once the counter has stood still above
Postgres for a whole interval, and runs one pass per interval across instances."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from entry_service.adapters.redis_gate_scripts import activity_keys
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.adapters.seat_reconciler import SeatReconciler
from servicekit.database import Database
from tests.support.entries import add_activity, seed_shop
from tests.support.own_redis import OwnRedis

pytestmark = pytest.mark.integration

INTERVAL_S = 0.2


@pytest.fixture
def client(tmp_path: Path) -> Iterator[redis.Redis]:
    own = OwnRedis(tmp_path / "redis")
    own.start()
    connection = redis.Redis.from_url(own.url)
    try:
        yield connection
    finally:
        connection.close()
        own.stop()


def _reconciler(client: redis.Redis, database: Database) -> SeatReconciler:
    return SeatReconciler(client, database, RedisCounterWarmer(client, database), INTERVAL_S)


def test_a_leaked_admission_is_given_back_after_a_still_interval(
    client: redis.Redis, database: Database
) -> None:
    activity = add_activity(database, seed_shop(database).campaign_id, capacity=5)
    warmer = RedisCounterWarmer(client, database)
    warmer.warm(activity)
    count_key = activity_keys(activity)[0]
    client.incr(count_key)  # admitted, then the process died before the publish
    reconciler = _reconciler(client, database)

    assert reconciler.run_once() == []  # first sight: it may be a reservation in flight
    assert int(client.get(count_key) or 0) == 1
    time.sleep(INTERVAL_S)
    assert reconciler.run_once() == [activity]  # still there, a whole interval later
    assert int(client.get(count_key) or 0) == 0


def test_a_moving_counter_and_a_recent_pass_are_left_alone(
    client: redis.Redis, database: Database
) -> None:
    activity = add_activity(database, seed_shop(database).campaign_id, capacity=5)
    RedisCounterWarmer(client, database).warm(activity)
    count_key = activity_keys(activity)[0]
    client.incr(count_key)
    first, second = _reconciler(client, database), _reconciler(client, database)

    assert first.run_once() == []
    client.incr(count_key)  # admissions are coming in: reservations in flight
    assert second.run_once() == []  # within the interval: the other instance's pass stands
    time.sleep(INTERVAL_S)
    assert second.run_once() == []  # the counter moved since the last pass
    assert int(client.get(count_key) or 0) == 2
