"""Activities of a campaign: `/v1/campaigns/{id}/activities` and `/v1/activities/{id}`."""

from uuid import UUID

from fastapi import APIRouter, status

from core_service.adapters.catalog_repository import SqlCatalog
from core_service.api.deps import DatabaseDep
from core_service.api.routes.paging import DEFAULT, Cursor, Limit
from core_service.api.schemas import ActivityCreate, ActivityOut, ActivityPatch, Paged, paged
from core_service.domain import catalog
from servicekit.clock import utc_now

router = APIRouter(tags=["activities"])


@router.post("/campaigns/{campaign_id}/activities", status_code=status.HTTP_201_CREATED)
async def create_activity(campaign_id: UUID, body: ActivityCreate, db: DatabaseDep) -> ActivityOut:
    activity = await db.run(
        lambda s: catalog.create_activity(SqlCatalog(s), campaign_id, body.command(), utc_now)
    )
    return ActivityOut.model_validate(activity)


@router.get("/campaigns/{campaign_id}/activities")
async def list_activities(
    campaign_id: UUID, db: DatabaseDep, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Paged[ActivityOut]:
    page = await db.run(
        lambda s: catalog.list_activities(SqlCatalog(s), campaign_id, limit, cursor)
    )
    return paged(ActivityOut, page)


@router.get("/activities/{activity_id}")
async def get_activity(activity_id: UUID, db: DatabaseDep) -> ActivityOut:
    activity = await db.run(lambda s: catalog.get_activity(SqlCatalog(s), activity_id))
    return ActivityOut.model_validate(activity)


@router.patch("/activities/{activity_id}")
async def update_activity(activity_id: UUID, body: ActivityPatch, db: DatabaseDep) -> ActivityOut:
    changes = body.changes()
    activity = await db.run(
        lambda s: catalog.update_activity(SqlCatalog(s), activity_id, changes, utc_now)
    )
    return ActivityOut.model_validate(activity)


@router.delete("/activities/{activity_id}")
async def deactivate_activity(activity_id: UUID, db: DatabaseDep) -> ActivityOut:
    activity = await db.run(
        lambda s: catalog.deactivate_activity(SqlCatalog(s), activity_id, utc_now)
    )
    return ActivityOut.model_validate(activity)
