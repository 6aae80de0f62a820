"""SiteDirectory over the database, with a short in-process cache (admin edits show within it)."""

import asyncio
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from common_messaging import EventType
from entry_service.domain.sites import Definition, SiteConfig
from migrations.schema import EventDefinition, Site
from servicekit.database import Database


def load_site(session: Session, site_key: str) -> SiteConfig | None:
    site = session.scalar(select(Site).where(Site.site_key == site_key))
    if site is None:
        return None
    rows = session.scalars(select(EventDefinition).where(EventDefinition.site_id == site.id))
    return SiteConfig(
        id=site.id,
        site_key=site.site_key,
        allowed_origins=tuple(o.rstrip("/") for o in site.allowed_origins),
        active=site.active,
        definitions=tuple(_definition(row) for row in rows),
    )


def _definition(row: EventDefinition) -> Definition:
    return Definition(
        id=row.id,
        name=row.name,
        trigger_type=EventType(row.trigger_type),
        url_pattern=row.url_pattern,
        selector=row.selector,
        campaign_id=row.campaign_id,
        activity_id=row.activity_id,
        active=row.active,
    )


class CachedSqlSiteDirectory:
    def __init__(self, database: Database, ttl_s: float) -> None:
        self._database = database
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, SiteConfig | None]] = {}

    async def by_key(self, site_key: str) -> SiteConfig | None:
        hit = self._cache.get(site_key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        site = await asyncio.to_thread(self._load, site_key)
        if len(self._cache) > 10_000:
            # Unknown keys are cached too (against floods); bound the memory they take.
            self._cache.clear()
        self._cache[site_key] = (now, site)
        return site

    def _load(self, site_key: str) -> SiteConfig | None:
        with self._database.reader() as session:
            return load_site(session, site_key)


__all__ = ["CachedSqlSiteDirectory", "load_site"]
