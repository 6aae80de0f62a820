"""The Redis side of the entry gate: key names and the two Lua scripts.

The gate's seat accounting lives here and only here: `count` (seats taken), `users` (entries
per user) and `keys` (idempotency key -> "<entry id>:<position>"), all under the hash tag
`{a:<activity id>}`. ADMIT takes a seat, RELEASE gives one back (a unit that will never be
confirmed: a failed publish, a ledger refusal, or - for anyone who holds a unit - an expired
hold); nothing else writes these keys except the warmer, which rebuilds them from Postgres.

ADMIT is also the whole entry decision of a request in one round trip: the request's rate
limits (fixed windows, the same keys as `RedisRateLimiter`), a refusal decided in process
(outside the time window, not eligible), the per-user limit, capacity, the idempotency key,
and the answer's copy (`pulse:entry:<id>`, what `GET /v1/entries/{id}` reads first). The
optional keys (the copy, the limits) live in other slots: with them the script needs one Redis
node (not Cluster); with only the three activity keys it runs on Redis Cluster.
"""

from collections.abc import Sequence
from typing import Final
from uuid import UUID

# Shared with core's hold sweeper, which gives released units back to the count.
from entries_ledger.gate_seats import activity_keys as activity_keys

# KEYS: count, users, keys, [entry copy, [rate-limit key, ...]].
# ARGV: 1 user id, 2 idempotency field, 3 entry id, 4 capacity (-1 = none), 5 per-user limit,
# 6 key TTL s, then optional: 7 refusal reason ("" = none), 8 refusal detail, 9 activity id,
# 10 copy TTL s, 11 rate-limit window TTL s, 12.. one limit per rate-limit key.
# Returns {"ok", "<entry id>:<position>"}, {"dup", same}, {"user"}, {"full"}, {"refused"},
# {"limited"}, or {"cold"} when the counter is missing (Redis restarted or was flushed: warm it
# first). Nothing is written for "cold", so the caller can warm and call again.
ADMIT: Final = """
local refused = ARGV[7] or ''
local count = redis.call('GET', KEYS[1])
if refused == '' and not count then return {'cold'} end
local over = false
for i = 5, #KEYS do
  local hits = redis.call('INCR', KEYS[i])
  if hits == 1 then redis.call('EXPIRE', KEYS[i], ARGV[11]) end
  if hits > tonumber(ARGV[7 + i]) then over = true end
end
if over then return {'limited'} end
local function copy(fields)
  if KEYS[4] then
    fields['a'] = ARGV[9]
    redis.call('SET', KEYS[4], cjson.encode(fields), 'EX', ARGV[10])
  end
end
if refused ~= '' then
  local fields = {s = 'rejected', r = refused}
  if ARGV[8] ~= '' then fields['d'] = ARGV[8] end
  copy(fields)
  return {'refused'}
end
local prior = redis.call('HGET', KEYS[3], ARGV[2])
if prior then return {'dup', prior} end
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if mine >= tonumber(ARGV[5]) then
  copy({s = 'rejected', r = 'already_entered'})
  return {'user'}
end
local capacity = tonumber(ARGV[4])
if capacity >= 0 and tonumber(count) >= capacity then
  copy({s = 'rejected', r = 'sold_out'})
  return {'full'}
end
local position = redis.call('INCR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local value = ARGV[3] .. ':' .. position
redis.call('HSET', KEYS[3], ARGV[2], value)
-- The hashes may have just been created (a warm start with no entries): give them the TTL.
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
if redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], ARGV[6]) end
copy({s = 'reserved', p = position})
return {'ok', value}
"""

# Give one unit back: an admission that will never be confirmed (its publish failed, or Postgres
# refused it for a reason other than capacity). Only if the admission is still there, so it is
# idempotent. KEYS: count, users, keys, [entry copy: deleted too, the ledger answers instead].
# ARGV: user id, idempotency field, "<entry id>:<position>".
RELEASE: Final = """
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if KEYS[4] then redis.call('DEL', KEYS[4]) end
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
    """ADMIT's first six ARGV, in its order (the admission alone)."""
    return [
        user_id,
        idempotency_field(user_id, key),
        str(entry_id),
        -1 if capacity is None else capacity,
        per_user_limit,
        KEY_TTL_S,
    ]


def decision_args(
    admission: list[str | int],
    *,
    refused: str | None,
    detail: str | None,
    activity_id: UUID,
    copy_ttl_s: int,
    window_s: int,
    limits: Sequence[int],
) -> list[str | int]:
    """ADMIT's whole ARGV for a request's decision: the admission's, then the refusal, the
    answer's copy and one limit per rate-limit key (KEYS[5:])."""
    return [
        *admission,
        refused or "",
        detail or "",
        str(activity_id),
        copy_ttl_s,
        window_s + 1,
        *limits,
    ]


def entry_key(entry_id: UUID, prefix: str = "pulse") -> str:
    return f"{prefix}:entry:{entry_id}"


def rate_limit_key(key: str, window: int, prefix: str = "pulse:rl") -> str:
    """One fixed window's counter (shared with `RedisRateLimiter`)."""
    return f"{prefix}:{key}:{window}"
