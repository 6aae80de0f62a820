"""VisitorRegistry over the `visitors` table: first-seen time per site and visitor."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from datastore.schema import Visitor
from servicekit.database import Database
from servicekit.upsert import insert_ignoring_conflicts


class SqlVisitorRegistry:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def first_seen(
        self, site_id: UUID, visitor_keys: Sequence[str], now: datetime
    ) -> dict[str, datetime]:
        def work(session: Session) -> dict[str, datetime]:
            insert_ignoring_conflicts(
                session,
                Visitor.__table__,  # type: ignore[arg-type]
                [
                    {"site_id": site_id, "visitor_key": k, "first_seen_at": now}
                    for k in visitor_keys
                ],
            )
            rows = session.execute(
                select(Visitor.visitor_key, Visitor.first_seen_at).where(
                    Visitor.site_id == site_id, Visitor.visitor_key.in_(visitor_keys)
                )
            )
            return {row[0]: row[1] for row in rows}

        return await self._database.run(work)
