"""Event definitions: what the snippet tracks on a site, optionally tied to a campaign/activity."""

import uuid
from dataclasses import replace
from uuid import UUID

from core_service.domain.catalog import get_activity, get_campaign, get_site
from core_service.domain.catalog_models import DefinitionChanges, EventDefinition, NewDefinition
from core_service.domain.catalog_paging import Page, decode_cursor, page_of
from core_service.domain.ports import Catalog
from core_service.domain.validation import check_trigger
from core_service.errors import DefinitionNotFound, DuplicateDefinitionName, InvalidField
from servicekit.clock import Clock


def resolve_scope(
    catalog: Catalog,
    site_id: UUID,
    campaign_id: UUID | None,
    activity_id: UUID | None,
    *,
    campaign_given: bool,
) -> tuple[UUID | None, UUID | None]:
    """The (campaign_id, activity_id) pair to store, after checking they nest in the site.

    An activity alone implies its campaign; a campaign the caller named must match it.
    """
    if activity_id is not None:
        activity = get_activity(catalog, activity_id)
        if not campaign_given:
            campaign_id = activity.campaign_id
        elif campaign_id != activity.campaign_id:
            raise InvalidField(
                "activity_id",
                f"activity {activity_id} belongs to campaign {activity.campaign_id}, "
                f"not to {campaign_id}",
            )
    if campaign_id is not None:
        campaign = get_campaign(catalog, campaign_id)
        if campaign.site_id != site_id:
            raise InvalidField(
                "campaign_id",
                f"campaign {campaign_id} belongs to site {campaign.site_id}, not to {site_id}",
            )
    return campaign_id, activity_id


def _check_name_free(catalog: Catalog, definition: EventDefinition) -> None:
    existing = catalog.definitions.find_by_name(definition.site_id, definition.name)
    if existing is not None and existing.id != definition.id:
        raise DuplicateDefinitionName(definition.site_id, definition.name)


def create_definition(catalog: Catalog, new: NewDefinition, clock: Clock) -> EventDefinition:
    get_site(catalog.sites, new.site_id)
    check_trigger(new.trigger)
    campaign_id, activity_id = resolve_scope(
        catalog,
        new.site_id,
        new.campaign_id,
        new.activity_id,
        campaign_given=new.campaign_id is not None,
    )
    now = clock()
    definition = EventDefinition(
        id=uuid.uuid4(),
        site_id=new.site_id,
        campaign_id=campaign_id,
        activity_id=activity_id,
        name=new.name,
        trigger=new.trigger,
        active=new.active,
        created_at=now,
        updated_at=now,
    )
    _check_name_free(catalog, definition)
    catalog.definitions.add(definition)
    return definition


def get_definition(catalog: Catalog, definition_id: UUID) -> EventDefinition:
    definition = catalog.definitions.get(definition_id)
    if definition is None:
        raise DefinitionNotFound(definition_id)
    return definition


def list_definitions(
    catalog: Catalog,
    *,
    site_id: UUID | None,
    campaign_id: UUID | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> Page[EventDefinition]:
    rows = catalog.definitions.list_definitions(
        site_id=site_id,
        campaign_id=campaign_id,
        active=active,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit)


def update_definition(
    catalog: Catalog, definition_id: UUID, changes: DefinitionChanges, clock: Clock
) -> EventDefinition:
    current = get_definition(catalog, definition_id)
    trigger = changes.get("trigger", current.trigger)
    check_trigger(trigger)
    campaign_id, activity_id = resolve_scope(
        catalog,
        current.site_id,
        changes.get("campaign_id", current.campaign_id),
        changes.get("activity_id", current.activity_id),
        campaign_given="campaign_id" in changes or "activity_id" not in changes,
    )
    updated = replace(
        current,
        name=changes.get("name", current.name),
        trigger=trigger,
        campaign_id=campaign_id,
        activity_id=activity_id,
        active=changes.get("active", current.active),
        updated_at=clock(),
    )
    _check_name_free(catalog, updated)
    catalog.definitions.save(updated)
    return updated


def deactivate_definition(catalog: Catalog, definition_id: UUID, clock: Clock) -> EventDefinition:
    return update_definition(catalog, definition_id, {"active": False}, clock)
