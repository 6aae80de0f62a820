"""`/v1/sites/{site_id}/users/{user_key}/summary`: one user's activity and purchases."""

import asyncio
from uuid import UUID

from fastapi import APIRouter

from core_service.api.deps import SummaryCacheDep, SummaryReaderDep
from core_service.api.schemas import UserSummaryOut
from core_service.domain.user_summary import user_summary

router = APIRouter(prefix="/sites", tags=["users"])


@router.get("/{site_id}/users/{user_key:path}/summary")
async def get_user_summary(
    site_id: UUID, user_key: str, reader: SummaryReaderDep, cache: SummaryCacheDep
) -> UserSummaryOut:
    """`user_key` is `u:<user id>` or `a:<anonymous id>`, URL-encoded; 404 `user_not_found`."""
    view = await asyncio.to_thread(user_summary, site_id, user_key, reader, cache)
    return UserSummaryOut.model_validate(view)
