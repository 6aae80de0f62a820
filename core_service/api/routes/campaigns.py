"""`/v1/campaigns`: marketing campaigns of one site."""

from uuid import UUID

from fastapi import APIRouter, status

from core_service.adapters.catalog_repository import SqlCatalog
from core_service.api.deps import DatabaseDep
from core_service.api.routes.paging import DEFAULT, Cursor, Limit
from core_service.api.schemas import CampaignCreate, CampaignOut, CampaignPatch, Paged, paged
from core_service.domain import catalog
from servicekit.clock import utc_now

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_campaign(body: CampaignCreate, db: DatabaseDep) -> CampaignOut:
    campaign = await db.run(
        lambda s: catalog.create_campaign(SqlCatalog(s), body.command(), utc_now)
    )
    return CampaignOut.model_validate(campaign)


@router.get("")
async def list_campaigns(
    db: DatabaseDep, site_id: UUID | None = None, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Paged[CampaignOut]:
    page = await db.run(lambda s: catalog.list_campaigns(SqlCatalog(s), site_id, limit, cursor))
    return paged(CampaignOut, page)


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: UUID, db: DatabaseDep) -> CampaignOut:
    campaign = await db.run(lambda s: catalog.get_campaign(SqlCatalog(s), campaign_id))
    return CampaignOut.model_validate(campaign)


@router.patch("/{campaign_id}")
async def update_campaign(campaign_id: UUID, body: CampaignPatch, db: DatabaseDep) -> CampaignOut:
    changes = body.changes()
    campaign = await db.run(
        lambda s: catalog.update_campaign(SqlCatalog(s), campaign_id, changes, utc_now)
    )
    return CampaignOut.model_validate(campaign)


@router.delete("/{campaign_id}")
async def archive_campaign(campaign_id: UUID, db: DatabaseDep) -> CampaignOut:
    campaign = await db.run(lambda s: catalog.archive_campaign(SqlCatalog(s), campaign_id, utc_now))
    return CampaignOut.model_validate(campaign)
