"""Winners for staff: an activity's entries by status, searchable by user, keyset-paged, and a
CSV export streamed row batch by row batch (entries_ledger.winners)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from common_messaging import EntryStatus
from core_service.api.deps import DatabaseDep
from core_service.api.routes.paging import DEFAULT, Cursor, Limit
from core_service.errors import ActivityNotFound, InvalidCursor
from entries_ledger import winners
from servicekit.keyset import decode_cursor

router = APIRouter(tags=["winners"])

# Every status the ledger defines is a filter: new ones (e.g. paid, expired) need no change here.
Statuses = Annotated[
    list[EntryStatus] | None,
    Query(alias="status", description="Repeat for several, e.g. status=confirmed&status=paid."),
]
User = Annotated[
    str | None, Query(alias="user", max_length=128, description="The site's user id, exactly.")
]


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    entry_id: UUID
    user_id: str
    status: str
    reason: str | None
    detail: str | None
    position: int | None
    device_type: str
    requested_at: datetime
    decided_at: datetime


class EntryPageOut(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


async def _known(db: DatabaseDep, activity_id: UUID) -> None:
    if await db.run(lambda s: winners.activity_name(s, activity_id)) is None:
        raise ActivityNotFound(activity_id)


@router.get("/activities/{activity_id}/entries")
async def list_entries(
    activity_id: UUID,
    db: DatabaseDep,
    status: Statuses = None,
    user: User = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> EntryPageOut:
    """The activity's entries in the order they were decided; `next_cursor` for more."""
    after = decode_cursor(cursor, InvalidCursor)
    await _known(db, activity_id)
    page = await db.run(
        lambda s: winners.page_entries(
            s, activity_id, statuses=status or (), user_id=user, after=after, limit=limit
        )
    )
    return EntryPageOut(
        items=[EntryOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.get("/activities/{activity_id}/entries.csv", response_class=StreamingResponse)
async def export_entries(
    activity_id: UUID, db: DatabaseDep, status: Statuses = None, user: User = None
) -> StreamingResponse:
    """All the activity's entries (with the same filters) as CSV, streamed."""
    await _known(db, activity_id)
    return StreamingResponse(
        winners.export_csv(db.engine, activity_id, statuses=status or (), user_id=user),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="entries-{activity_id}.csv"'},
    )
