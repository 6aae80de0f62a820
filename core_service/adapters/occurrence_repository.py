"""SQLAlchemy implementation of OccurrenceRepository: set-based statements, never commits."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from common_messaging import EventOccurred
from core_service.domain.occurrences import SummaryChange
from migrations.schema import EventOccurrence, Purchase, User, UserSummary
from servicekit.upsert import insert_ignoring_conflicts

UserIds = Mapping[tuple[UUID, str], UUID]


class SqlOccurrenceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def ensure_users(self, events: Sequence[EventOccurred]) -> dict[tuple[UUID, str], UUID]:
        first: dict[tuple[UUID, str], EventOccurred] = {}
        for event in events:
            first.setdefault((event.site_id, event.visitor_key), event)
        rows = [
            {
                "id": uuid4(),
                "site_id": site_id,
                "user_key": key,
                "external_id": event.user_id,
                "created_at": event.received_at,
            }
            for (site_id, key), event in first.items()
        ]
        insert_ignoring_conflicts(self._session, User.__table__, rows)  # type: ignore[arg-type]
        found = self._session.execute(
            select(User.site_id, User.user_key, User.id).where(
                tuple_(User.site_id, User.user_key).in_(list(first))
            )
        )
        return {(site_id, key): user_id for site_id, key, user_id in found}

    def insert_occurrences(self, events: Sequence[EventOccurred], user_ids: UserIds) -> set[UUID]:
        rows = [_occurrence_row(e, user_ids[(e.site_id, e.visitor_key)]) for e in events]
        table: Any = EventOccurrence.__table__
        return set(insert_ignoring_conflicts(self._session, table, rows, returning="event_id"))

    def insert_purchases(self, events: Sequence[EventOccurred], user_ids: UserIds) -> None:
        rows = [
            {
                "event_id": e.event_id,
                "site_id": e.site_id,
                "user_id": user_ids[(e.site_id, e.visitor_key)],
                "campaign_id": e.campaign_id,
                "activity_id": e.activity_id,
                "order_id": e.purchase.order_id,
                "amount": e.purchase.amount,
                "currency": e.purchase.currency,
                "occurred_at": e.occurred_at,
            }
            for e in events
            if e.purchase is not None
        ]
        insert_ignoring_conflicts(self._session, Purchase.__table__, rows)  # type: ignore[arg-type]

    def apply_summary_changes(self, changes: Mapping[UUID, SummaryChange]) -> None:
        """One upsert for the whole batch, merging each change into the stored summary."""
        if not changes:
            return
        postgres = self._session.get_bind().dialect.name == "postgresql"
        module: Any = postgresql if postgres else sqlite
        lowest, highest = (func.least, func.greatest) if postgres else (func.min, func.max)
        stmt = module.insert(UserSummary)
        new, old = stmt.excluded, UserSummary.__table__.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[old.user_id],
            set_={
                "first_seen_at": lowest(old.first_seen_at, new.first_seen_at),
                "last_seen_at": highest(old.last_seen_at, new.last_seen_at),
                "event_count": old.event_count + new.event_count,
                "purchase_count": old.purchase_count + new.purchase_count,
                "total_spent": old.total_spent + new.total_spent,
                # Either side may be NULL (no purchase yet); the later known time wins.
                "last_purchase_at": highest(
                    func.coalesce(old.last_purchase_at, new.last_purchase_at),
                    func.coalesce(new.last_purchase_at, old.last_purchase_at),
                ),
            },
        )
        # Sorted, so concurrent consumers always lock summaries in the same order.
        rows = [_summary_row(user_id, changes[user_id]) for user_id in sorted(changes)]
        self._session.execute(stmt, rows)


def _summary_row(user_id: UUID, change: SummaryChange) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "first_seen_at": change.first_seen_at,
        "last_seen_at": change.last_seen_at,
        "event_count": change.event_count,
        "purchase_count": change.purchase_count,
        "total_spent": change.total_spent,
        "last_purchase_at": change.last_purchase_at,
    }


def _occurrence_row(event: EventOccurred, user_id: UUID) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "site_id": event.site_id,
        "user_id": user_id,
        "definition_id": event.definition_id,
        "campaign_id": event.campaign_id,
        "activity_id": event.activity_id,
        "name": event.name,
        "type": event.type.value,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "anonymous_id": event.anonymous_id,
        "session_id": event.session_id,
        "url": event.url,
        "referrer": event.referrer,
        "device_type": event.device.device_type.value,
        "browser": event.device.browser,
        "os": event.device.os,
        "is_new_user": event.is_new_user,
        "properties": event.properties,
    }
