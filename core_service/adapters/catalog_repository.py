"""SQLAlchemy implementations of the catalog ports. They flush, never commit."""

from collections.abc import Sequence
from typing import cast
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core_service.adapters.pagination import keyset
from core_service.domain.catalog_models import (
    Activity,
    ActivityType,
    Campaign,
    CampaignStatus,
    EventDefinition,
    Site,
    Trigger,
    TriggerType,
)
from core_service.domain.catalog_paging import CursorKey
from core_service.errors import DuplicateDefinitionName
from datastore import schema


def _site(row: schema.Site) -> Site:
    return Site(
        id=row.id,
        name=row.name,
        site_key=row.site_key,
        allowed_origins=tuple(row.allowed_origins or ()),
        demo=row.is_demo,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        signing_secret=row.signing_secret,
    )


def _campaign(row: schema.Campaign) -> Campaign:
    return Campaign(
        id=row.id,
        site_id=row.site_id,
        name=row.name,
        description=row.description,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=cast(CampaignStatus, row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _activity(row: schema.Activity) -> Activity:
    return Activity(
        id=row.id,
        campaign_id=row.campaign_id,
        name=row.name,
        type=cast(ActivityType, row.type),
        capacity=row.capacity,
        per_user_limit=row.per_user_limit,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        conditions=row.conditions,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _definition(row: schema.EventDefinition) -> EventDefinition:
    return EventDefinition(
        id=row.id,
        site_id=row.site_id,
        campaign_id=row.campaign_id,
        activity_id=row.activity_id,
        name=row.name,
        trigger=Trigger(
            type=cast(TriggerType, row.trigger_type),
            url_pattern=row.url_pattern,
            selector=row.selector,
        ),
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlSiteRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, site: Site) -> None:
        row = schema.Site(id=site.id, site_key=site.site_key, signing_secret=site.signing_secret)
        self._session.add(self._fill(row, site))
        self._session.flush()

    def get(self, site_id: UUID) -> Site | None:
        row = self._session.get(schema.Site, site_id)
        return None if row is None else _site(row)

    def save(self, site: Site) -> None:
        self._fill(self._session.get_one(schema.Site, site.id), site)
        self._session.flush()

    @staticmethod
    def _fill(row: schema.Site, site: Site) -> schema.Site:
        row.name = site.name
        row.allowed_origins = list(site.allowed_origins)
        row.is_demo = site.demo
        row.active = site.active
        row.created_at = site.created_at
        row.updated_at = site.updated_at
        return row

    def list_sites(self, *, after: CursorKey | None, limit: int) -> Sequence[Site]:
        stmt = keyset(select(schema.Site), schema.Site.created_at, schema.Site.id, after, limit)
        return [_site(row) for row in self._session.scalars(stmt)]


class SqlCampaignRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, campaign: Campaign) -> None:
        row = schema.Campaign(id=campaign.id, site_id=campaign.site_id)
        self._session.add(self._fill(row, campaign))
        self._session.flush()

    def get(self, campaign_id: UUID) -> Campaign | None:
        row = self._session.get(schema.Campaign, campaign_id)
        return None if row is None else _campaign(row)

    def save(self, campaign: Campaign) -> None:
        self._fill(self._session.get_one(schema.Campaign, campaign.id), campaign)
        self._session.flush()

    @staticmethod
    def _fill(row: schema.Campaign, campaign: Campaign) -> schema.Campaign:
        row.name = campaign.name
        row.description = campaign.description
        row.starts_at = campaign.starts_at
        row.ends_at = campaign.ends_at
        row.status = campaign.status
        row.created_at = campaign.created_at
        row.updated_at = campaign.updated_at
        return row

    def list_campaigns(
        self, *, site_id: UUID | None, after: CursorKey | None, limit: int
    ) -> Sequence[Campaign]:
        stmt = select(schema.Campaign)
        if site_id is not None:
            stmt = stmt.where(schema.Campaign.site_id == site_id)
        stmt = keyset(stmt, schema.Campaign.created_at, schema.Campaign.id, after, limit)
        return [_campaign(row) for row in self._session.scalars(stmt)]


class SqlActivityRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, activity: Activity) -> None:
        row = schema.Activity(id=activity.id, campaign_id=activity.campaign_id)
        self._session.add(self._fill(row, activity))
        self._session.flush()

    def get(self, activity_id: UUID) -> Activity | None:
        row = self._session.get(schema.Activity, activity_id)
        return None if row is None else _activity(row)

    def save(self, activity: Activity) -> None:
        self._fill(self._session.get_one(schema.Activity, activity.id), activity)
        self._session.flush()

    @staticmethod
    def _fill(row: schema.Activity, activity: Activity) -> schema.Activity:
        row.name = activity.name
        row.type = activity.type
        row.capacity = activity.capacity
        row.per_user_limit = activity.per_user_limit
        row.starts_at = activity.starts_at
        row.ends_at = activity.ends_at
        row.conditions = activity.conditions
        row.active = activity.active
        row.created_at = activity.created_at
        row.updated_at = activity.updated_at
        return row

    def list_activities(
        self, *, campaign_id: UUID, after: CursorKey | None, limit: int
    ) -> Sequence[Activity]:
        stmt = select(schema.Activity).where(schema.Activity.campaign_id == campaign_id)
        stmt = keyset(stmt, schema.Activity.created_at, schema.Activity.id, after, limit)
        return [_activity(row) for row in self._session.scalars(stmt)]


class SqlDefinitionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, definition: EventDefinition) -> None:
        row = schema.EventDefinition(id=definition.id, site_id=definition.site_id)
        self._session.add(self._fill(row, definition))
        self._flush(definition)

    def get(self, definition_id: UUID) -> EventDefinition | None:
        row = self._session.get(schema.EventDefinition, definition_id)
        return None if row is None else _definition(row)

    def find_by_name(self, site_id: UUID, name: str) -> EventDefinition | None:
        stmt = select(schema.EventDefinition).where(
            schema.EventDefinition.site_id == site_id, schema.EventDefinition.name == name
        )
        row = self._session.scalars(stmt).first()
        return None if row is None else _definition(row)

    def save(self, definition: EventDefinition) -> None:
        self._fill(self._session.get_one(schema.EventDefinition, definition.id), definition)
        self._flush(definition)

    @staticmethod
    def _fill(row: schema.EventDefinition, definition: EventDefinition) -> schema.EventDefinition:
        row.campaign_id = definition.campaign_id
        row.activity_id = definition.activity_id
        row.name = definition.name
        row.trigger_type = definition.trigger.type
        row.url_pattern = definition.trigger.url_pattern
        row.selector = definition.trigger.selector
        row.active = definition.active
        row.created_at = definition.created_at
        row.updated_at = definition.updated_at
        return row

    def _flush(self, definition: EventDefinition) -> None:
        try:
            self._session.flush()
        except IntegrityError as exc:
            # A concurrent writer took the name between the domain's check and this flush.
            raise DuplicateDefinitionName(definition.site_id, definition.name) from exc

    def list_definitions(
        self,
        *,
        site_id: UUID | None,
        campaign_id: UUID | None,
        active: bool | None,
        after: CursorKey | None,
        limit: int,
    ) -> Sequence[EventDefinition]:
        model = schema.EventDefinition
        stmt = select(model)
        if site_id is not None:
            stmt = stmt.where(model.site_id == site_id)
        if campaign_id is not None:
            stmt = stmt.where(model.campaign_id == campaign_id)
        if active is not None:
            stmt = stmt.where(model.active == active)
        stmt = keyset(stmt, model.created_at, model.id, after, limit)
        return [_definition(row) for row in self._session.scalars(stmt)]


class SqlCatalog:
    """The four repositories over one session, satisfying `domain.ports.Catalog`."""

    def __init__(self, session: Session) -> None:
        self.sites = SqlSiteRepository(session)
        self.campaigns = SqlCampaignRepository(session)
        self.activities = SqlActivityRepository(session)
        self.definitions = SqlDefinitionRepository(session)
