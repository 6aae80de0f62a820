"""An activity's entries for the winners page (reader token or session): the same keyset pages
and streamed CSV as core's admin API, from entries_ledger.winners."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from common_messaging import EntryStatus
from dashboard_service.api.deps import PortsDep, require_reader
from dashboard_service.domain.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor
from dashboard_service.errors import ActivityNotFound
from entries_ledger import winners
from servicekit.database import Database

router = APIRouter(prefix="/v1", tags=["winners"], dependencies=[Depends(require_reader)])

Statuses = Annotated[list[EntryStatus] | None, Query(alias="status")]
User = Annotated[str | None, Query(alias="user", max_length=128)]


def _database(ports: PortsDep) -> Database:
    return ports.database


DatabaseDep = Annotated[Database, Depends(_database)]


class WinnerOut(BaseModel):
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


class WinnersPage(BaseModel):
    activity_id: UUID
    activity_name: str
    statuses: list[str]
    items: list[WinnerOut]
    next_cursor: str | None


async def _name(db: Database, activity_id: UUID) -> str:
    name = await db.run(lambda s: winners.activity_name(s, activity_id))
    if name is None:
        raise ActivityNotFound(f"no activity with id {activity_id}")
    return name


@router.get("/activities/{activity_id}/entries")
async def list_entries(
    activity_id: UUID,
    db: DatabaseDep,
    status: Statuses = None,
    user: User = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> WinnersPage:
    """The activity's entries in decision order; `statuses` lists every status to filter by."""
    after = decode_cursor(cursor)
    name = await _name(db, activity_id)
    page = await db.run(
        lambda s: winners.page_entries(
            s, activity_id, statuses=status or (), user_id=user, after=after, limit=limit
        )
    )
    return WinnersPage(
        activity_id=activity_id,
        activity_name=name,
        statuses=[s.value for s in EntryStatus],
        items=[WinnerOut.model_validate(e) for e in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/activities/{activity_id}/entries.csv", response_class=StreamingResponse)
async def export_entries(
    activity_id: UUID, db: DatabaseDep, status: Statuses = None, user: User = None
) -> StreamingResponse:
    await _name(db, activity_id)
    return StreamingResponse(
        winners.export_csv(db.engine, activity_id, statuses=status or (), user_id=user),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="entries-{activity_id}.csv"'},
    )
