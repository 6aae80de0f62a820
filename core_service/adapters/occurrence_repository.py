"""SQLAlchemy implementation of OccurrenceRepository over one Session (never commits)."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from common_messaging import EventOccurred
from migrations.schema import EventOccurrence, Purchase, User, UserSummary
from servicekit.upsert import insert_ignoring_conflicts


class SqlOccurrenceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def ensure_user(self, event: EventOccurred) -> UUID:
        key = event.visitor_key
        insert_ignoring_conflicts(
            self._session,
            User.__table__,  # type: ignore[arg-type]
            [
                {
                    "id": uuid4(),
                    "site_id": event.site_id,
                    "user_key": key,
                    "external_id": event.user_id,
                    "created_at": event.received_at,
                }
            ],
        )
        user_id = self._session.scalar(
            select(User.id).where(User.site_id == event.site_id, User.user_key == key)
        )
        assert user_id is not None  # just inserted or already present
        return user_id

    def insert_occurrence(self, event: EventOccurred, user_id: UUID) -> bool:
        row = {
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
        table = EventOccurrence.__table__
        return insert_ignoring_conflicts(self._session, table, [row]) == 1  # type: ignore[arg-type]

    def touch_summary(self, user_id: UUID, seen_at: datetime) -> None:
        summary = self._session.get(UserSummary, user_id, with_for_update=True)
        if summary is None:
            self._session.add(
                UserSummary(
                    user_id=user_id,
                    first_seen_at=seen_at,
                    last_seen_at=seen_at,
                    event_count=1,
                    purchase_count=0,
                    total_spent=Decimal("0"),
                )
            )
            self._session.flush()
            return
        summary.first_seen_at = min(summary.first_seen_at, seen_at)
        summary.last_seen_at = max(summary.last_seen_at, seen_at)
        summary.event_count += 1
        self._session.flush()

    def insert_purchase(self, event: EventOccurred, user_id: UUID) -> None:
        assert event.purchase is not None
        insert_ignoring_conflicts(
            self._session,
            Purchase.__table__,  # type: ignore[arg-type]
            [
                {
                    "event_id": event.event_id,
                    "site_id": event.site_id,
                    "user_id": user_id,
                    "campaign_id": event.campaign_id,
                    "activity_id": event.activity_id,
                    "order_id": event.purchase.order_id,
                    "amount": event.purchase.amount,
                    "currency": event.purchase.currency,
                    "occurred_at": event.occurred_at,
                }
            ],
        )

    def add_purchase_to_summary(self, user_id: UUID, amount: Decimal, at: datetime) -> None:
        summary = self._session.get(UserSummary, user_id, with_for_update=True)
        if summary is None:
            raise LookupError(f"no summary for user {user_id}; touch_summary runs first")
        summary.purchase_count += 1
        summary.total_spent += amount
        # Out-of-order delivery must not move last_purchase_at backwards.
        if summary.last_purchase_at is None or at > summary.last_purchase_at:
            summary.last_purchase_at = at
        self._session.flush()
