"""Sites, campaigns and activities: create, read, list, update, deactivate.

Every function takes the repositories it needs and a clock; none commits, the caller's
unit of work does.
"""

import secrets
import uuid
from dataclasses import replace
from uuid import UUID

from core_service.domain.catalog_models import (
    Activity,
    ActivityChanges,
    Campaign,
    CampaignChanges,
    NewActivity,
    NewCampaign,
    NewSite,
    Site,
    SiteChanges,
)
from core_service.domain.catalog_paging import Page, decode_cursor, page_of
from core_service.domain.ports import Catalog, SiteRepository
from core_service.domain.validation import (
    check_capacity,
    check_conditions,
    check_window,
    normalize_origins,
)
from core_service.errors import ActivityNotFound, CampaignNotFound, SiteNotFound
from servicekit.clock import Clock


def new_site_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_site(sites: SiteRepository, new: NewSite, clock: Clock) -> Site:
    now = clock()
    site = Site(
        id=uuid.uuid4(),
        name=new.name,
        site_key=new_site_key(),
        allowed_origins=normalize_origins(new.allowed_origins),
        demo=new.demo,
        active=True,
        created_at=now,
        updated_at=now,
        signing_secret=new_signing_secret(),
    )
    sites.add(site)
    return site


def get_site(sites: SiteRepository, site_id: UUID) -> Site:
    site = sites.get(site_id)
    if site is None:
        raise SiteNotFound(site_id)
    return site


def list_sites(sites: SiteRepository, limit: int, cursor: str | None) -> Page[Site]:
    return page_of(sites.list_sites(after=decode_cursor(cursor), limit=limit + 1), limit)


def update_site(sites: SiteRepository, site_id: UUID, changes: SiteChanges, clock: Clock) -> Site:
    site = get_site(sites, site_id)
    origins = changes.get("allowed_origins")
    updated = replace(
        site,
        name=changes.get("name", site.name),
        allowed_origins=site.allowed_origins if origins is None else normalize_origins(origins),
        demo=changes.get("demo", site.demo),
        active=changes.get("active", site.active),
        updated_at=clock(),
    )
    sites.save(updated)
    return updated


def deactivate_site(sites: SiteRepository, site_id: UUID, clock: Clock) -> Site:
    return update_site(sites, site_id, {"active": False}, clock)


def create_campaign(catalog: Catalog, new: NewCampaign, clock: Clock) -> Campaign:
    get_site(catalog.sites, new.site_id)
    check_window(new.starts_at, new.ends_at)
    now = clock()
    campaign = Campaign(
        id=uuid.uuid4(),
        site_id=new.site_id,
        name=new.name,
        description=new.description,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        status=new.status,
        created_at=now,
        updated_at=now,
    )
    catalog.campaigns.add(campaign)
    return campaign


def get_campaign(catalog: Catalog, campaign_id: UUID) -> Campaign:
    campaign = catalog.campaigns.get(campaign_id)
    if campaign is None:
        raise CampaignNotFound(campaign_id)
    return campaign


def list_campaigns(
    catalog: Catalog, site_id: UUID | None, limit: int, cursor: str | None
) -> Page[Campaign]:
    rows = catalog.campaigns.list_campaigns(
        site_id=site_id, after=decode_cursor(cursor), limit=limit + 1
    )
    return page_of(rows, limit)


def update_campaign(
    catalog: Catalog, campaign_id: UUID, changes: CampaignChanges, clock: Clock
) -> Campaign:
    campaign = get_campaign(catalog, campaign_id)
    updated = replace(
        campaign,
        name=changes.get("name", campaign.name),
        description=changes.get("description", campaign.description),
        starts_at=changes.get("starts_at", campaign.starts_at),
        ends_at=changes.get("ends_at", campaign.ends_at),
        status=changes.get("status", campaign.status),
        updated_at=clock(),
    )
    check_window(updated.starts_at, updated.ends_at)
    catalog.campaigns.save(updated)
    return updated


def archive_campaign(catalog: Catalog, campaign_id: UUID, clock: Clock) -> Campaign:
    return update_campaign(catalog, campaign_id, {"status": "archived"}, clock)


def create_activity(
    catalog: Catalog, campaign_id: UUID, new: NewActivity, clock: Clock
) -> Activity:
    get_campaign(catalog, campaign_id)
    check_capacity(new.type, new.capacity, new.per_user_limit)
    check_window(new.starts_at, new.ends_at)
    check_conditions(new.conditions)
    now = clock()
    activity = Activity(
        id=uuid.uuid4(),
        campaign_id=campaign_id,
        name=new.name,
        type=new.type,
        capacity=new.capacity,
        per_user_limit=new.per_user_limit,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        conditions=new.conditions,
        active=True,
        created_at=now,
        updated_at=now,
    )
    catalog.activities.add(activity)
    return activity


def get_activity(catalog: Catalog, activity_id: UUID) -> Activity:
    activity = catalog.activities.get(activity_id)
    if activity is None:
        raise ActivityNotFound(activity_id)
    return activity


def list_activities(
    catalog: Catalog, campaign_id: UUID, limit: int, cursor: str | None
) -> Page[Activity]:
    get_campaign(catalog, campaign_id)
    rows = catalog.activities.list_activities(
        campaign_id=campaign_id, after=decode_cursor(cursor), limit=limit + 1
    )
    return page_of(rows, limit)


def update_activity(
    catalog: Catalog, activity_id: UUID, changes: ActivityChanges, clock: Clock
) -> Activity:
    activity = get_activity(catalog, activity_id)
    updated = replace(
        activity,
        name=changes.get("name", activity.name),
        type=changes.get("type", activity.type),
        capacity=changes.get("capacity", activity.capacity),
        per_user_limit=changes.get("per_user_limit", activity.per_user_limit),
        starts_at=changes.get("starts_at", activity.starts_at),
        ends_at=changes.get("ends_at", activity.ends_at),
        conditions=changes.get("conditions", activity.conditions),
        active=changes.get("active", activity.active),
        updated_at=clock(),
    )
    check_capacity(updated.type, updated.capacity, updated.per_user_limit)
    check_window(updated.starts_at, updated.ends_at)
    check_conditions(updated.conditions)
    catalog.activities.save(updated)
    return updated


def deactivate_activity(catalog: Catalog, activity_id: UUID, clock: Clock) -> Activity:
    return update_activity(catalog, activity_id, {"active": False}, clock)
