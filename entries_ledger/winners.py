"""An activity's entries for staff: keyset pages (never OFFSET) and a streamed CSV export.

Pages are ordered by (decided_at, id) and served by the `ix_entries_activity_decided` /
`ix_entries_activity_status_decided` indices; a user search is an equality on the site's user
id (the (activity, user, slot) constraint's index). The export reads with a server-side cursor
(`yield_per`), so 100,000 rows cost the memory of one batch. Both serve core's admin API and
the dashboard's winners page.
"""

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, Select, and_, or_, select
from sqlalchemy.orm import Session

from datastore.schema import Activity, Entry
from servicekit.keyset import CursorKey, encode_cursor

CSV_COLUMNS = (
    "entry_id",
    "user_id",
    "status",
    "reason",
    "detail",
    "position",
    "device_type",
    "requested_at",
    "decided_at",
)
_EXPORT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class EntryRow:
    entry_id: UUID
    user_id: str
    status: str
    reason: str | None
    detail: str | None
    position: int | None
    device_type: str
    requested_at: datetime
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[EntryRow]
    next_cursor: str | None


_COLUMNS = (
    Entry.id,
    Entry.user_id,
    Entry.status,
    Entry.reason,
    Entry.detail,
    Entry.position,
    Entry.device_type,
    Entry.requested_at,
    Entry.decided_at,
)


def activity_name(session: Session, activity_id: UUID) -> str | None:
    """The activity's name, or None when there is no such activity."""
    activity = session.get(Activity, activity_id)
    return None if activity is None else activity.name


def _query(
    activity_id: UUID, statuses: Collection[str], user_id: str | None
) -> Select[*tuple[Any, ...]]:
    stmt = select(*_COLUMNS).where(Entry.activity_id == activity_id)
    if statuses:
        stmt = stmt.where(Entry.status.in_(sorted(statuses)))
    if user_id is not None:
        stmt = stmt.where(Entry.user_id == user_id)
    return stmt.order_by(Entry.decided_at, Entry.id)


def page_entries(
    session: Session,
    activity_id: UUID,
    *,
    statuses: Collection[str] = (),
    user_id: str | None = None,
    after: CursorKey | None = None,
    limit: int = 50,
) -> EntryPage:
    stmt = _query(activity_id, statuses, user_id)
    if after is not None:
        stmt = stmt.where(
            or_(
                Entry.decided_at > after.created_at,
                and_(Entry.decided_at == after.created_at, Entry.id > after.id),
            )
        )
    rows = [EntryRow(*row) for row in session.execute(stmt.limit(limit + 1))]
    items = rows[:limit]
    more = len(rows) > limit
    cursor = encode_cursor(CursorKey(items[-1].decided_at, items[-1].entry_id)) if more else None
    return EntryPage(items, cursor)


def export_csv(
    engine: Engine,
    activity_id: UUID,
    *,
    statuses: Collection[str] = (),
    user_id: str | None = None,
) -> Iterator[bytes]:
    """The CSV, a header then one chunk per batch of rows, read through a server-side cursor.
    Closing the iterator early (the client went away) closes the cursor and the connection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_EXPORT_BATCH).execute(
            _query(activity_id, statuses, user_id)
        )
        for batch in result.partitions():
            # The row's own order is CSV_COLUMNS'; csv writes None as an empty field.
            writer.writerows(
                (
                    entry,
                    user,
                    status,
                    reason,
                    detail,
                    position,
                    device,
                    req.isoformat(),
                    dec.isoformat(),
                )
                for entry, user, status, reason, detail, position, device, req, dec in batch
            )
            yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data
