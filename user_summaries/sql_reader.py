"""SummaryReader over the `users` and `user_summaries` tables."""

from uuid import UUID

from sqlalchemy import select

from datastore.schema import User, UserSummary
from servicekit.database import Database
from user_summaries.ports import UserSummaryView


class SqlSummaryReader:
    def __init__(self, database: Database) -> None:
        self._database = database

    def get(self, site_id: UUID, user_key: str) -> UserSummaryView | None:
        query = (
            select(UserSummary)
            .join(User, User.id == UserSummary.user_id)
            .where(User.site_id == site_id, User.user_key == user_key)
        )
        with self._database.reader() as session:
            row = session.scalar(query)
            if row is None:
                return None
            return UserSummaryView(
                site_id=site_id,
                user_key=user_key,
                first_seen_at=row.first_seen_at,
                last_seen_at=row.last_seen_at,
                event_count=row.event_count,
                last_purchase_at=row.last_purchase_at,
                purchase_count=row.purchase_count,
                total_spent=row.total_spent,
                entry_count=row.entry_count,
                last_entry_at=row.last_entry_at,
            )
