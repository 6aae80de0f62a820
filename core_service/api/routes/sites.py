"""`/v1/sites`: the web shops that embed the snippet."""

from uuid import UUID

from fastapi import APIRouter, status

from core_service.adapters.catalog_repository import SqlSiteRepository
from core_service.api.deps import DatabaseDep
from core_service.api.routes.paging import DEFAULT, Cursor, Limit
from core_service.api.schemas import Paged, SiteCreate, SiteOut, SitePatch, paged
from core_service.domain import catalog
from servicekit.clock import utc_now

router = APIRouter(prefix="/sites", tags=["sites"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_site(body: SiteCreate, db: DatabaseDep) -> SiteOut:
    site = await db.run(
        lambda s: catalog.create_site(SqlSiteRepository(s), body.command(), utc_now)
    )
    return SiteOut.model_validate(site)


@router.get("")
async def list_sites(
    db: DatabaseDep, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Paged[SiteOut]:
    page = await db.run(lambda s: catalog.list_sites(SqlSiteRepository(s), limit, cursor))
    return paged(SiteOut, page)


@router.get("/{site_id}")
async def get_site(site_id: UUID, db: DatabaseDep) -> SiteOut:
    site = await db.run(lambda s: catalog.get_site(SqlSiteRepository(s), site_id))
    return SiteOut.model_validate(site)


@router.patch("/{site_id}")
async def update_site(site_id: UUID, body: SitePatch, db: DatabaseDep) -> SiteOut:
    changes = body.changes()
    site = await db.run(
        lambda s: catalog.update_site(SqlSiteRepository(s), site_id, changes, utc_now)
    )
    return SiteOut.model_validate(site)


@router.delete("/{site_id}")
async def deactivate_site(site_id: UUID, db: DatabaseDep) -> SiteOut:
    site = await db.run(lambda s: catalog.deactivate_site(SqlSiteRepository(s), site_id, utc_now))
    return SiteOut.model_validate(site)
