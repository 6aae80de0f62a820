"""SummaryCache over Redis: read-through, fills guarded by python-redis-lock, invalidated by
the consumer after each committed batch.

Keys share one hash tag per user, `{<site_id>:<user_key>}`:
- `<prefix>:summary:{…}` — the summary as JSON (or `null` for "no such user"), for `ttl_s`
  (`negative_ttl_s` for "no such user").
- `<prefix>:summary-gen:{…}` — a counter `invalidate` bumps; a fill WATCHes it from before its
  database read to its write, so a fill that raced an invalidation is not cached (no stale
  value can outlive an invalidation, whatever the interleaving).
- lock `<prefix>:summary-fill:{…}` — fills go through `servicekit.redis_fill.LockGuardedFill`,
  so a stampede on one cold summary makes one database read, and Redis failures never fail a
  read (the database answers). `invalidate` never raises either: it logs
`summary_cache_invalidate_failed`, and the entries it could not delete expire within `ttl_s`.

`SummaryInvalidator(cache)(events)` is what the consumer calls after a batch is committed.
"""

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

import redis

from common_messaging import EventOccurred
from servicekit.redis_fill import LockGuardedFill
from user_summaries.ports import SummaryCache, UserSummaryView

log = logging.getLogger(__name__)

_FORMAT: Final = 2  # 2 added entry_count and last_entry_at


Loader = Callable[[], UserSummaryView | None]


class RedisSummaryCache:
    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        ttl_s: int = 60,
        negative_ttl_s: int = 10,
        lock_expire_s: int = 5,
        lock_wait_s: float = 3.0,
        cooldown_s: float = 5.0,
        key_prefix: str = "pulse",
    ) -> None:
        self._redis = redis_client
        self._cache = LockGuardedFill[UserSummaryView](
            redis_client,
            "summary_cache",
            encode_summary,
            decode_summary,
            ttl_s=max(1, int(ttl_s)),
            negative_ttl_s=max(1, int(negative_ttl_s)),
            lock_expire_s=max(1, int(lock_expire_s)),
            lock_wait_s=lock_wait_s,
            cooldown_s=cooldown_s,
        )
        self._prefix = key_prefix

    def _tag(self, site_id: UUID, user_key: str) -> str:
        return f"{{{site_id}:{user_key}}}"

    def get_or_load(self, site_id: UUID, user_key: str, load: Loader) -> UserSummaryView | None:
        tag = self._tag(site_id, user_key)
        return self._cache.read(
            f"{self._prefix}:summary:{tag}",
            f"{self._prefix}:summary-fill:{tag}",
            load,
            watch_key=f"{self._prefix}:summary-gen:{tag}",
        )

    def invalidate(self, site_id: UUID, user_keys: Sequence[str]) -> None:
        if not user_keys:
            return
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for user_key in user_keys:
                    tag = self._tag(site_id, user_key)
                    gen = f"{self._prefix}:summary-gen:{tag}"
                    pipe.incr(gen)
                    pipe.expire(gen, self._cache.ttl_s + self._cache.lock_expire_s)
                    pipe.delete(f"{self._prefix}:summary:{tag}")
                pipe.execute()
        except redis.RedisError as exc:
            log.warning(
                "summary_cache_invalidate_failed site_id=%s users=%d error=%s stale_max_s=%s",
                site_id,
                len(user_keys),
                type(exc).__name__,
                self._cache.ttl_s,
            )


class SummaryInvalidator:
    """Call with a committed batch: forgets the cached summaries of the batch's users."""

    def __init__(self, cache: SummaryCache) -> None:
        self._cache = cache

    def __call__(self, events: Sequence[EventOccurred]) -> None:
        users: dict[UUID, set[str]] = {}
        for event in events:
            users.setdefault(event.site_id, set()).add(event.visitor_key)
        for site_id, keys in users.items():
            self._cache.invalidate(site_id, sorted(keys))


def encode_summary(view: UserSummaryView | None) -> bytes:
    body: dict[str, Any] = {"v": _FORMAT, "summary": None}
    if view is not None:
        body["summary"] = {
            "site_id": str(view.site_id),
            "user_key": view.user_key,
            "first_seen_at": view.first_seen_at.isoformat(),
            "last_seen_at": view.last_seen_at.isoformat(),
            "event_count": view.event_count,
            "last_purchase_at": _iso_or_none(view.last_purchase_at),
            "purchase_count": view.purchase_count,
            "total_spent": str(view.total_spent),
            "entry_count": view.entry_count,
            "last_entry_at": _iso_or_none(view.last_entry_at),
        }
    return json.dumps(body, separators=(",", ":")).encode()


def decode_summary(raw: bytes | str) -> UserSummaryView | None:
    body = json.loads(raw)
    if body.get("v") != _FORMAT:
        raise ValueError(f"cache format {body.get('v')!r}, expected {_FORMAT}")
    s = body["summary"]
    if s is None:
        return None
    return UserSummaryView(
        site_id=UUID(s["site_id"]),
        user_key=s["user_key"],
        first_seen_at=datetime.fromisoformat(s["first_seen_at"]),
        last_seen_at=datetime.fromisoformat(s["last_seen_at"]),
        event_count=int(s["event_count"]),
        last_purchase_at=(
            None if s["last_purchase_at"] is None else datetime.fromisoformat(s["last_purchase_at"])
        ),
        purchase_count=int(s["purchase_count"]),
        total_spent=Decimal(s["total_spent"]),
        entry_count=int(s["entry_count"]),
        last_entry_at=(
            None if s["last_entry_at"] is None else datetime.fromisoformat(s["last_entry_at"])
        ),
    )


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


__all__ = ["RedisSummaryCache", "SummaryInvalidator", "decode_summary", "encode_summary"]
