"""SiteDirectory with three layers: in-process TTL cache → Redis cache → database.

- In process: `LocalSiteCache` (a short TTL, `local_ttl_s`, and single-flight), as in
  `CachedSqlSiteDirectory`.
- Redis: `<prefix>:site:{<site_key>}` holds the SiteConfig as JSON (definitions included) for
  `ttl_s`; an unknown key is cached as `{"site": null}` for `negative_ttl_s` (against floods of
  made-up keys).
- Fill on a miss, across processes: `servicekit.redis_fill.LockGuardedFill` with the lock
  `<prefix>:site-fill:{site:<key>}` (hash tag: its two keys share a cluster slot), so a
  stampede on a cold key makes one database read; when Redis is down the database answers.

All blocking Redis calls run in worker threads, never on the event loop.
"""

import asyncio
import json
from collections.abc import Callable
from typing import Any, Final
from uuid import UUID

import redis
from sqlalchemy.orm import Session

from common_messaging import EventType
from entry_service.adapters.local_cache import LocalSiteCache
from entry_service.adapters.sql_sites import load_site
from entry_service.domain.sites import Definition, SiteConfig
from servicekit.database import Database
from servicekit.redis_fill import LockGuardedFill

SiteLoader = Callable[[Session, str], SiteConfig | None]

_FORMAT: Final = 1


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
        ttl = max(1, int(ttl_s))
        self._cache = LockGuardedFill[SiteConfig](
            redis_client,
            "site_cache",
            encode_site,
            decode_site,
            ttl_s=ttl,
            negative_ttl_s=max(1, min(int(negative_ttl_s), ttl)),
            lock_expire_s=max(1, int(lock_expire_s)),
            lock_wait_s=lock_wait_s,
            cooldown_s=cooldown_s,
        )
        self._database = database
        self._prefix = key_prefix
        self._loader = loader
        self._local = LocalSiteCache(self._fetch, local_ttl_s)

    async def by_key(self, site_key: str) -> SiteConfig | None:
        return await self._local.by_key(site_key)

    async def _fetch(self, site_key: str) -> SiteConfig | None:
        return await asyncio.to_thread(
            self._cache.read,
            f"{self._prefix}:site:{{{site_key}}}",
            f"{self._prefix}:site-fill:{{site:{site_key}}}",
            lambda: self._load(site_key),
        )

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
            "signing_secret": site.signing_secret,
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
        signing_secret=site["signing_secret"],
    )


def _str_or_none(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _uuid_or_none(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


__all__ = ["RedisCachedSiteDirectory", "decode_site", "encode_site"]
