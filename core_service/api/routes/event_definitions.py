"""`/v1/event-definitions`: what the snippet tracks on a site."""

from uuid import UUID

from fastapi import APIRouter, status

from core_service.adapters.catalog_repository import SqlCatalog
from core_service.api.deps import DatabaseDep
from core_service.api.routes.paging import DEFAULT, Cursor, Limit
from core_service.api.schemas import (
    DefinitionCreate,
    DefinitionOut,
    DefinitionPatch,
    Paged,
    paged,
)
from core_service.domain import catalog_definitions as defs
from servicekit.clock import utc_now

router = APIRouter(prefix="/event-definitions", tags=["event definitions"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_definition(body: DefinitionCreate, db: DatabaseDep) -> DefinitionOut:
    definition = await db.run(
        lambda s: defs.create_definition(SqlCatalog(s), body.command(), utc_now)
    )
    return DefinitionOut.model_validate(definition)


@router.get("")
async def list_definitions(
    db: DatabaseDep,
    site_id: UUID | None = None,
    campaign_id: UUID | None = None,
    active: bool | None = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Paged[DefinitionOut]:
    page = await db.run(
        lambda s: defs.list_definitions(
            SqlCatalog(s),
            site_id=site_id,
            campaign_id=campaign_id,
            active=active,
            limit=limit,
            cursor=cursor,
        )
    )
    return paged(DefinitionOut, page)


@router.get("/{definition_id}")
async def get_definition(definition_id: UUID, db: DatabaseDep) -> DefinitionOut:
    definition = await db.run(lambda s: defs.get_definition(SqlCatalog(s), definition_id))
    return DefinitionOut.model_validate(definition)


@router.patch("/{definition_id}")
async def update_definition(
    definition_id: UUID, body: DefinitionPatch, db: DatabaseDep
) -> DefinitionOut:
    changes = body.changes()
    definition = await db.run(
        lambda s: defs.update_definition(SqlCatalog(s), definition_id, changes, utc_now)
    )
    return DefinitionOut.model_validate(definition)


@router.delete("/{definition_id}")
async def deactivate_definition(definition_id: UUID, db: DatabaseDep) -> DefinitionOut:
    definition = await db.run(
        lambda s: defs.deactivate_definition(SqlCatalog(s), definition_id, utc_now)
    )
    return DefinitionOut.model_validate(definition)
