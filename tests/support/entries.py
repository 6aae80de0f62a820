"""Shared set-up of the entry tests: a shop with a signing secret, activities, user tokens."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common_messaging import DeviceInfo, DeviceType, EntryRequested
from datastore.schema import Activity, Campaign, Entry, Site
from entry_service.domain.tokens import sign_user_token
from servicekit.database import Database

SECRET = "whsec_test_secret_for_entries_0123456789"


@dataclass(frozen=True)
class Shop:
    site_id: uuid.UUID
    site_key: str
    demo_site_key: str
    campaign_id: uuid.UUID
    demo_campaign_id: uuid.UUID


def seed_shop(db: Database) -> Shop:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        site = _site(s, "Entry shop", demo=False, now=now)
        demo = _site(s, "Demo shop", demo=True, now=now)
        campaign = _campaign(s, site, now)
        demo_campaign = _campaign(s, demo, now)
        return Shop(site.id, site.site_key, demo.site_key, campaign.id, demo_campaign.id)


def add_activity(
    db: Database,
    campaign_id: uuid.UUID,
    *,
    capacity: int | None = 100,
    per_user_limit: int = 1,
    starts_in: timedelta | None = None,
    ends_in: timedelta | None = None,
    conditions: dict[str, Any] | None = None,
) -> uuid.UUID:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        activity = Activity(
            campaign_id=campaign_id,
            name="First come",
            type="fcfs",
            capacity=capacity,
            per_user_limit=per_user_limit,
            starts_at=now + starts_in if starts_in is not None else None,
            ends_at=now + ends_in if ends_in is not None else None,
            conditions=conditions,
            active=True,
            created_at=now,
            updated_at=now,
        )
        s.add(activity)
        s.flush()
        return activity.id


def token(
    user_id: str, *, secret: str = SECRET, ttl: timedelta = timedelta(minutes=5), **claims: Any
) -> str:
    return sign_user_token(user_id, secret, datetime.now(UTC) + ttl, **claims)


def confirmed(db: Database, activity_id: uuid.UUID) -> list[tuple[str, int]]:
    """(user id, position) of every confirmed entry of the activity."""
    with db.reader() as s:
        rows = s.execute(
            select(Entry.user_id, Entry.position).where(
                Entry.activity_id == activity_id, Entry.status == "confirmed"
            )
        ).all()
    return [(u, int(p)) for u, p in rows]


def confirmed_count(db: Database, activity_id: uuid.UUID) -> int:
    with db.reader() as s:
        return int(
            s.scalar(select(Activity.confirmed_count).where(Activity.id == activity_id)) or 0
        )


def entry_rows(db: Database, activity_id: uuid.UUID) -> int:
    with db.reader() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(Entry).where(Entry.activity_id == activity_id)
            )
            or 0
        )


def _site(s: Session, name: str, *, demo: bool, now: datetime) -> Site:
    site = Site(
        name=name,
        site_key=f"pk_{uuid.uuid4().hex[:12]}",
        allowed_origins=["https://shop.example"],
        is_demo=demo,
        active=True,
        signing_secret=SECRET,
        created_at=now,
        updated_at=now,
    )
    s.add(site)
    s.flush()
    return site


def _campaign(s: Session, site: Site, now: datetime) -> Campaign:
    campaign = Campaign(
        site_id=site.id, name="Opening", status="active", created_at=now, updated_at=now
    )
    s.add(campaign)
    s.flush()
    return campaign


def reservation(
    shop: Shop, activity_id: uuid.UUID, user_id: str, key: str | None = None
) -> EntryRequested:
    """A reservation as the gate hands it to the ledger (entry id and key fresh unless given)."""
    return EntryRequested(
        entry_id=uuid.uuid4(),
        site_id=shop.site_id,
        campaign_id=shop.campaign_id,
        activity_id=activity_id,
        user_id=user_id,
        idempotency_key=key or uuid.uuid4().hex,
        requested_at=datetime.now(UTC),
        device=DeviceInfo(device_type=DeviceType.MOBILE),
    )
