"""ActivityDirectory over the catalog tables, behind the in-process TTL + single-flight cache."""

import asyncio
from datetime import datetime
from uuid import UUID

from sqlalchemy import select

from common_messaging.conditions import InvalidRule, parse_rule
from datastore.schema import Activity, Campaign, Site
from entry_service.adapters.local_cache import LocalCache
from entry_service.domain.entries import ActivityView
from servicekit.database import Database


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else a or b


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a is not None and b is not None else a or b


class SqlActivityDirectory:
    def __init__(self, database: Database, ttl_s: float) -> None:
        self._database = database
        self._local: LocalCache[UUID, ActivityView] = LocalCache(self._fetch, ttl_s)

    async def get(self, activity_id: UUID) -> ActivityView | None:
        return await self._local.get(activity_id)

    async def _fetch(self, activity_id: UUID) -> ActivityView | None:
        return await asyncio.to_thread(self._read, activity_id)

    def _read(self, activity_id: UUID) -> ActivityView | None:
        query = (
            select(Activity, Campaign, Site)
            .join(Campaign, Campaign.id == Activity.campaign_id)
            .join(Site, Site.id == Campaign.site_id)
            .where(Activity.id == activity_id)
        )
        with self._database.reader() as session:
            row = session.execute(query).first()
        if row is None:
            return None
        activity, campaign, site = row
        try:
            conditions = parse_rule(activity.conditions) if activity.conditions else None
        except InvalidRule:  # validated on save; an old bad row refuses entries, not crashes
            return None
        return ActivityView(
            id=activity.id,
            campaign_id=campaign.id,
            site_id=site.id,
            site_key=site.site_key,
            site_active=site.active,
            site_demo=site.is_demo,
            signing_secret=site.signing_secret,
            allowed_origins=tuple(site.allowed_origins or ()),
            active=activity.active and campaign.status == "active",
            capacity=activity.capacity,
            per_user_limit=activity.per_user_limit,
            starts_at=_later(activity.starts_at, campaign.starts_at),
            ends_at=_earlier(activity.ends_at, campaign.ends_at),
            conditions=conditions,
        )
