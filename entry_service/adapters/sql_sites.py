"""SiteDirectory over the database, with a short in-process cache (admin edits show within it)."""

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session

from common_messaging import EventType
from datastore.schema import EventDefinition, Site
from entry_service.adapters.local_cache import LocalSiteCache
from entry_service.domain.sites import Definition, SiteConfig
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
        signing_secret=site.signing_secret,
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
        self._local = LocalSiteCache(self._fetch, ttl_s)

    async def by_key(self, site_key: str) -> SiteConfig | None:
        return await self._local.by_key(site_key)

    async def _fetch(self, site_key: str) -> SiteConfig | None:
        return await asyncio.to_thread(self._load, site_key)

    def _load(self, site_key: str) -> SiteConfig | None:
        with self._database.reader() as session:
            return load_site(session, site_key)


__all__ = ["CachedSqlSiteDirectory", "load_site"]
