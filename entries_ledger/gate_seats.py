"""The Redis gate's seat count of an activity, as the shared libraries see it.

The entry gate's admit script (entry_service) counts seats taken in `...:count`; a unit a
hold gave back must be subtracted there too, or Redis would keep refusing it as sold out.
"""

import logging
from collections.abc import Mapping
from typing import Final
from uuid import UUID

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS: count.  ARGV: units given back.  Only a warm count is lowered (a missing one is rebuilt
# from Postgres, which already counts the release), and never below zero.
GIVE_BACK: Final = """
local count = redis.call('GET', KEYS[1])
if not count then return -1 end
local units = math.min(tonumber(ARGV[1]), tonumber(count))
return redis.call('DECRBY', KEYS[1], units)
"""


def activity_keys(activity_id: UUID, prefix: str = "pulse") -> list[str]:
    """count, users, keys: one hash tag per activity, so every script touches one slot."""
    tag = f"{{a:{activity_id}}}"
    return [f"{prefix}:{tag}:count", f"{prefix}:{tag}:users", f"{prefix}:{tag}:keys"]


class RedisSeatReturn:
    """Gives released units back to the gate's count, after Postgres committed the release."""

    def __init__(self, client: redis.Redis, prefix: str = "pulse") -> None:
        self._redis = client
        self._prefix = prefix
        self._give_back = client.register_script(GIVE_BACK)

    def __call__(self, released: Mapping[UUID, int]) -> None:
        for activity_id, units in released.items():
            count_key = activity_keys(activity_id, self._prefix)[0]
            try:
                self._give_back(keys=[count_key], args=[units])
            except RedisError as exc:
                # Redis would keep counting the units and refuse them as sold out: make the
                # count cold instead, so the next entry rebuilds it from Postgres.
                log.warning("gate_give_back_failed activity_id=%s error=%s", activity_id, exc)
                try:
                    self._redis.delete(count_key)
                except RedisError:
                    log.warning("gate_count_left_high activity_id=%s", activity_id)
