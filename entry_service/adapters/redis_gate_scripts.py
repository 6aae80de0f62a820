"""The Redis side of the entry gate: key names and the two Lua scripts.

All keys of one activity share the hash tag `{a:<activity id>}`, so each script touches one
slot and runs on Redis Cluster. Scripts run atomically: no lock is held per request.
"""

from typing import Final
from uuid import UUID

# Shared with core's hold sweeper, which gives released units back to the count.
from entries_ledger.gate_seats import activity_keys as activity_keys

# KEYS: count, users, keys.  ARGV: user id, idempotency field, entry id, capacity (-1 = none),
# per-user limit, key TTL in seconds.  Returns {"ok", "<entry id>:<position>"},
# {"dup", same}, {"user"}, {"full"}, or {"cold"} when the counter is missing (Redis
# restarted or was flushed: warm it first).
ADMIT: Final = """
local count = redis.call('GET', KEYS[1])
if not count then return {'cold'} end
local prior = redis.call('HGET', KEYS[3], ARGV[2])
if prior then return {'dup', prior} end
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if mine >= tonumber(ARGV[5]) then return {'user'} end
local capacity = tonumber(ARGV[4])
if capacity >= 0 and tonumber(count) >= capacity then return {'full'} end
local position = redis.call('INCR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local value = ARGV[3] .. ':' .. position
redis.call('HSET', KEYS[3], ARGV[2], value)
-- The hashes may have just been created (a warm start with no entries): give them the TTL.
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
if redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], ARGV[6]) end
return {'ok', value}
"""

# Undo one admission that will never be confirmed (its publish failed, or Postgres refused it
# for a reason other than capacity). Only if the admission is still there, so it is idempotent.
# KEYS: count, users, keys.  ARGV: user id, idempotency field, "<entry id>:<position>".
RELEASE: Final = """
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
return 1
"""

KEY_TTL_S: Final = 14 * 24 * 3600  # outlives any activity's opening; refreshed when warmed


def lock_name(activity_id: UUID, prefix: str = "pulse") -> str:
    # python-redis-lock prefixes "lock:" and adds a "lock-signal:" key: the tag keeps both in
    # the activity's slot.
    return f"{prefix}:{{a:{activity_id}}}:warm"


def idempotency_field(user_id: str, key: str) -> str:
    return f"{user_id}\x00{key}"


def admit_args(
    user_id: str, key: str, entry_id: UUID, capacity: int | None, per_user_limit: int
) -> list[str | int]:
    """ADMIT's ARGV, in its order."""
    return [
        user_id,
        idempotency_field(user_id, key),
        str(entry_id),
        -1 if capacity is None else capacity,
        per_user_limit,
        KEY_TTL_S,
    ]


def entry_key(entry_id: UUID, prefix: str = "pulse") -> str:
    return f"{prefix}:entry:{entry_id}"
