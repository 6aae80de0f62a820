"""The embedded analytics index: flat rows in `analytics_events`, one per event id."""

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import delete, text

from common_messaging import EventOccurred, EventType
from datastore.schema import AnalyticsEvent
from servicekit.database import Database
from servicekit.upsert import insert_ignoring_conflicts


def analytics_row(event: EventOccurred) -> dict[str, object]:
    revenue = (
        event.purchase.amount
        if event.type is EventType.PURCHASE and event.purchase is not None
        else Decimal("0")
    )
    return {
        "event_id": event.event_id,
        "site_id": event.site_id,
        "campaign_id": event.campaign_id,
        "activity_id": event.activity_id,
        "type": event.type.value,
        "occurred_ts": int(event.occurred_at.timestamp()),
        "visitor_key": event.visitor_key,
        "device_type": event.device.device_type.value,
        "is_new_user": event.is_new_user,
        "revenue": revenue,
    }


class SqlAnalyticsIndex:
    def __init__(self, database: Database) -> None:
        self._database = database

    def index(self, events: Sequence[EventOccurred]) -> None:
        with self._database.unit_of_work() as session:
            insert_ignoring_conflicts(
                session,
                AnalyticsEvent.__table__,  # type: ignore[arg-type]
                [analytics_row(e) for e in events],
            )

    def remove(self, events: Sequence[EventOccurred]) -> None:
        with self._database.unit_of_work() as session:
            session.execute(
                delete(AnalyticsEvent).where(
                    AnalyticsEvent.event_id.in_([e.event_id for e in events])
                )
            )

    def ping(self) -> None:
        with self._database.engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM analytics_events LIMIT 1"))
