"""SiteDirectory with three layers: in-process TTL cache → Redis cache → database.

- In process: a short TTL (`local_ttl_s`, as `CachedSqlSiteDirectory`) and single-flight, so
  concurrent requests of one process for one key make one Redis lookup.
- Redis: `<prefix>:site:{<site_key>}` holds the SiteConfig as JSON (definitions included) for
  `ttl_s`; an unknown key is cached as `{"site": null}` for `negative_ttl_s` (against floods of
  made-up keys).
- Fill on a miss, across processes: a python-redis-lock lock `<prefix>:site-fill:{site:<key>}`
  (hash tag: its two keys share a cluster slot). The holder re-checks the cache, reads the
  database once and writes the cache; waiters block on the lock's release signal and re-check
  the cache once they hold it, so a stampede on a cold key makes one database read. The lock
  expires after `lock_expire_s` (a crashed holder cannot block the key for longer), and a
  waiter that has waited `lock_wait_s` reads the database itself.

Redis is an accelerator, never a dependency of the public edge: any Redis error is logged
(`site_cache_redis_unavailable`), Redis is skipped for `cooldown_s`, and the database answers.
All blocking Redis calls run in worker threads, never on the event loop. The Redis client's
`socket_timeout` must exceed one second (a lock wait blocks in BLPOP for up to 1 s).
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Final
from uuid import UUID

import redis
import redis_lock
from sqlalchemy.orm import Session

from common_messaging import EventType
from entry_service.adapters.sql_sites import load_site
from entry_service.domain.sites import Definition, SiteConfig
from servicekit.database import Database

log = logging.getLogger(__name__)

SiteLoader = Callable[[Session, str], SiteConfig | None]

MAX_SITE_KEY_LENGTH: Final = 64  # sites.site_key is String(64): a longer key cannot exist
_LOCAL_MAX_ENTRIES: Final = 10_000
_FORMAT: Final = 1


class _Miss:
    """Nothing usable in Redis for the key."""


MISS: Final = _Miss()


class RedisCachedSiteDirectory:
    def __init__(
        self,
        redis_client: redis.Redis,
        database: Database,
        ttl_s: int,
        local_ttl_s: float,
        *,
        negative_ttl_s: int = 10,
        lock_expire_s: int = 5,
        lock_wait_s: float = 3.0,
        cooldown_s: float = 5.0,
        key_prefix: str = "pulse",
        loader: SiteLoader = load_site,
    ) -> None:
        self._redis = redis_client
        self._database = database
        self._ttl_s = max(1, int(ttl_s))
        self._negative_ttl_s = max(1, min(int(negative_ttl_s), self._ttl_s))
        self._local_ttl_s = local_ttl_s
        self._lock_expire_s = max(1, int(lock_expire_s))
        self._lock_wait_s = lock_wait_s
        self._cooldown_s = cooldown_s
        self._prefix = key_prefix
        self._loader = loader
        self._local: dict[str, tuple[float, SiteConfig | None]] = {}
        self._inflight: dict[str, asyncio.Task[SiteConfig | None]] = {}
        self._redis_down_until = 0.0

    async def by_key(self, site_key: str) -> SiteConfig | None:
        if len(site_key) > MAX_SITE_KEY_LENGTH:
            return None
        hit = self._local.get(site_key)
        if hit is not None and time.monotonic() - hit[0] < self._local_ttl_s:
            return hit[1]
        task = self._inflight.get(site_key)
        if task is None:
            task = asyncio.ensure_future(self._refresh(site_key))
            self._inflight[site_key] = task
            task.add_done_callback(lambda _: self._inflight.pop(site_key, None))
        # Shielded: a caller that goes away does not cancel the lookup others wait on.
        return await asyncio.shield(task)

    async def _refresh(self, site_key: str) -> SiteConfig | None:
        site = await self._fetch(site_key)
        if len(self._local) > _LOCAL_MAX_ENTRIES:
            self._local.clear()  # unknown keys are cached too; bound the memory they take
        self._local[site_key] = (time.monotonic(), site)
        return site

    async def _fetch(self, site_key: str) -> SiteConfig | None:
        if time.monotonic() >= self._redis_down_until:
            try:
                return await asyncio.to_thread(self._through_redis, site_key)
            except redis.RedisError as exc:
                self._redis_down_until = time.monotonic() + self._cooldown_s
                log.warning(
                    "site_cache_redis_unavailable error=%s fallback=database cooldown_s=%s",
                    type(exc).__name__,
                    self._cooldown_s,
                )
        return await asyncio.to_thread(self._load, site_key)

    # Blocking part, run in a worker thread.

    def _through_redis(self, site_key: str) -> SiteConfig | None:
        key = f"{self._prefix}:site:{{{site_key}}}"
        cached = self._cached(key)
        if not isinstance(cached, _Miss):
            return cached
        lock = redis_lock.Lock(
            self._redis, f"{self._prefix}:site-fill:{{site:{site_key}}}", expire=self._lock_expire_s
        )
        deadline = time.monotonic() + self._lock_wait_s
        while time.monotonic() < deadline:
            # One-second steps (the library's smallest): a waiter the release signal did not
            # wake still sees the filled cache within a second.
            if lock.acquire(blocking=True, timeout=1):
                try:
                    return self._fill(key, site_key)
                finally:
                    self._release(lock, site_key)
            cached = self._cached(key)
            if not isinstance(cached, _Miss):
                return cached
        log.warning("site_cache_fill_wait_timeout site_key=%s fallback=database", site_key)
        return self._load(site_key)

    def _fill(self, key: str, site_key: str) -> SiteConfig | None:
        cached = self._cached(key)  # filled by the previous holder while this one waited
        if not isinstance(cached, _Miss):
            return cached
        site = self._load(site_key)
        ttl = self._ttl_s if site is not None else self._negative_ttl_s
        try:
            self._redis.set(key, encode_site(site), ex=ttl)
        except redis.RedisError as exc:  # the answer is good; only caching it failed
            log.warning("site_cache_write_failed site_key=%s error=%s", site_key, exc)
        return site

    def _release(self, lock: redis_lock.Lock, site_key: str) -> None:
        try:
            lock.release()
        except redis_lock.NotAcquired:
            log.warning("site_cache_fill_lock_expired site_key=%s", site_key)
        except redis.RedisError as exc:  # expires by itself; never hide the answer
            log.warning("site_cache_fill_unlock_failed site_key=%s error=%s", site_key, exc)

    def _cached(self, key: str) -> SiteConfig | None | _Miss:
        raw = self._redis.get(key)
        if raw is None:
            return MISS
        try:
            return decode_site(raw)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("site_cache_entry_unreadable key=%s error=%s", key, exc)
            return MISS

    def _load(self, site_key: str) -> SiteConfig | None:
        with self._database.reader() as session:
            return self._loader(session, site_key)


def encode_site(site: SiteConfig | None) -> bytes:
    body: dict[str, Any] = {"v": _FORMAT, "site": None}
    if site is not None:
        body["site"] = {
            "id": str(site.id),
            "site_key": site.site_key,
            "allowed_origins": list(site.allowed_origins),
            "active": site.active,
            "definitions": [
                {
                    "id": str(d.id),
                    "name": d.name,
                    "trigger_type": d.trigger_type.value,
                    "url_pattern": d.url_pattern,
                    "selector": d.selector,
                    "campaign_id": _str_or_none(d.campaign_id),
                    "activity_id": _str_or_none(d.activity_id),
                    "active": d.active,
                }
                for d in site.definitions
            ],
        }
    return json.dumps(body, separators=(",", ":")).encode()


def decode_site(raw: bytes | str) -> SiteConfig | None:
    body = json.loads(raw)
    if body.get("v") != _FORMAT:
        raise ValueError(f"cache format {body.get('v')!r}, expected {_FORMAT}")
    site = body["site"]
    if site is None:
        return None
    return SiteConfig(
        id=UUID(site["id"]),
        site_key=site["site_key"],
        allowed_origins=tuple(site["allowed_origins"]),
        active=bool(site["active"]),
        definitions=tuple(
            Definition(
                id=UUID(d["id"]),
                name=d["name"],
                trigger_type=EventType(d["trigger_type"]),
                url_pattern=d["url_pattern"],
                selector=d["selector"],
                campaign_id=_uuid_or_none(d["campaign_id"]),
                activity_id=_uuid_or_none(d["activity_id"]),
                active=bool(d["active"]),
            )
            for d in site["definitions"]
        ),
    )


def _str_or_none(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _uuid_or_none(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


__all__ = ["RedisCachedSiteDirectory", "decode_site", "encode_site"]
