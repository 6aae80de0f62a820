"""SQLAlchemy implementation of OccurrenceRepository: set-based statements, never commits.

Every write is one statement per batch whatever its size (see servicekit.upsert.bulk_insert),
built from the table metadata once and cached, so a batch costs four round trips and no SQL
rendering or parsing.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Insert, Table, func
from sqlalchemy.orm import Session

from common_messaging import EventOccurred
from core_service.adapters.cohort_cells import StoredPurchase, record_trusted_purchases
from core_service.domain.occurrences import SummaryChange
from datastore.schema import EventOccurrence, Purchase, User, UserSummary, Visitor
from servicekit.upsert import bulk_execute, bulk_insert, reused

UserIds = Mapping[tuple[UUID, str], UUID]

USERS: Table = User.__table__  # type: ignore[assignment]
OCCURRENCES: Table = EventOccurrence.__table__  # type: ignore[assignment]
PURCHASES: Table = Purchase.__table__  # type: ignore[assignment]
SUMMARIES: Table = UserSummary.__table__  # type: ignore[assignment]
VISITORS: Table = Visitor.__table__  # type: ignore[assignment]

VISITOR_COLUMNS = ("site_id", "visitor_key", "first_seen_at")

USER_COLUMNS = ("id", "site_id", "user_key", "external_id", "created_at")
OCCURRENCE_COLUMNS = (
    "event_id", "site_id", "user_id", "definition_id", "campaign_id", "activity_id", "name",
    "type", "occurred_at", "received_at", "anonymous_id", "session_id", "url", "referrer",
    "device_type", "browser", "os", "is_new_user", "properties",
)  # fmt: skip
PURCHASE_COLUMNS = (
    "event_id", "site_id", "user_id", "campaign_id", "activity_id", "order_id", "amount",
    "currency", "occurred_at", "trusted",
)  # fmt: skip
# What the cohort cells need of a purchase stored now (StoredPurchase's fields, in order).
_STORED_COLUMNS = (
    "event_id", "site_id", "user_id", "campaign_id", "amount", "currency", "occurred_at",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "user_id", "first_seen_at", "last_seen_at", "event_count", "purchase_count", "total_spent",
    "last_purchase_at",
)  # fmt: skip


class SqlOccurrenceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def ensure_users(self, events: Sequence[EventOccurred]) -> dict[tuple[UUID, str], UUID]:
        """One upsert that returns every user's id, whether new, old or just made by a peer.

        DO UPDATE rather than DO NOTHING, because only then does RETURNING include the rows
        that already existed. Sorted, so concurrent consumers lock users in the same order.
        """
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
            for (site_id, key), event in sorted(first.items(), key=itemgetter(0))
        ]
        stmt = reused(self._session, "users", _users_upsert)
        found = bulk_execute(self._session, stmt, USER_COLUMNS, rows)
        return {(site_id, key): user_id for site_id, key, user_id in found}

    def first_sightings(self, events: Sequence[EventOccurred]) -> dict[tuple[UUID, str], datetime]:
        """One upsert that records the visitors seen for the first time and returns every
        visitor's first sighting (DO UPDATE of the key itself, so RETURNING includes the rows
        that existed). Sorted, so concurrent consumers lock visitors in the same order."""
        first: dict[tuple[UUID, str], datetime] = {}
        for event in events:
            key = (event.site_id, event.visitor_key)
            seen = first.get(key)
            if seen is None or event.received_at < seen:
                first[key] = event.received_at
        rows = [
            {"site_id": site_id, "visitor_key": key, "first_seen_at": at}
            for (site_id, key), at in sorted(first.items(), key=itemgetter(0))
        ]
        stmt = reused(self._session, "visitors", _visitors_upsert)
        found = bulk_execute(self._session, stmt, VISITOR_COLUMNS, rows)
        return {(site_id, key): at for site_id, key, at in found}

    def insert_occurrences(self, events: Sequence[EventOccurred], user_ids: UserIds) -> set[UUID]:
        rows = [_occurrence_row(e, user_ids[(e.site_id, e.visitor_key)]) for e in events]
        stmt = reused(self._session, "occurrences", _occurrences_insert)
        return set(bulk_execute(self._session, stmt, OCCURRENCE_COLUMNS, rows).scalars())

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
                "trusted": e.trusted,
            }
            for e in events
            if e.purchase is not None
        ]
        if rows:
            insert_purchase_rows(self._session, rows)

    def apply_summary_changes(self, changes: Mapping[UUID, SummaryChange]) -> None:
        """One upsert for the whole batch, merging each change into the stored summary."""
        if not changes:
            return
        stmt = reused(self._session, "summaries", _summaries_upsert)
        # Sorted, so concurrent consumers always lock summaries in the same order.
        rows = [_summary_row(user_id, changes[user_id]) for user_id in sorted(changes)]
        bulk_execute(self._session, stmt, SUMMARY_COLUMNS, rows)


def insert_purchase_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert purchases (rows of PURCHASE_COLUMNS) not stored yet, and add the trusted ones
    stored now, as stored, to the cohort cells in the same transaction: a row already stored
    (a replay, a re-delivery) adds nothing, whatever it says now."""
    stmt = reused(session, "purchases", _purchases_insert)
    stored = bulk_execute(session, stmt, PURCHASE_COLUMNS, rows).all()
    record_trusted_purchases(session, [StoredPurchase(*row[:-1]) for row in stored if row[-1]])


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


# The statements, each built once per dialect (`reused`).
def _upsert_returning(
    table: Table, columns: Sequence[str], keys: tuple[str, str], keep: str, value: str
) -> Callable[[Session], Insert]:
    """An upsert that leaves a stored row as it was (a no-op write of `keep`, a column no index
    covers, so RETURNING includes the rows that existed) and returns `keys` and `value`."""

    def build(session: Session) -> Insert:
        return (
            bulk_insert(session, table, columns)
            .on_conflict_do_update(
                index_elements=[table.c[k] for k in keys], set_={keep: table.c[keep]}
            )
            .returning(*(table.c[k] for k in keys), table.c[value])
        )

    return build


_users_upsert = _upsert_returning(USERS, USER_COLUMNS, ("site_id", "user_key"), "external_id", "id")
_visitors_upsert = _upsert_returning(
    VISITORS, VISITOR_COLUMNS, ("site_id", "visitor_key"), "first_seen_at", "first_seen_at"
)


def _occurrences_insert(session: Session) -> Insert:
    return (
        bulk_insert(session, OCCURRENCES, OCCURRENCE_COLUMNS)
        .on_conflict_do_nothing()
        .returning(OCCURRENCES.c.event_id)
    )


def _summaries_upsert(session: Session) -> Insert:
    postgres = session.get_bind().dialect.name == "postgresql"
    lowest, highest = (func.least, func.greatest) if postgres else (func.min, func.max)
    insert = bulk_insert(session, SUMMARIES, SUMMARY_COLUMNS)
    new, old = insert.excluded, SUMMARIES.c
    return insert.on_conflict_do_update(
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


def _purchases_insert(session: Session) -> Insert:
    return (
        bulk_insert(session, PURCHASES, PURCHASE_COLUMNS)
        .on_conflict_do_nothing()
        .returning(*(PURCHASES.c[name] for name in _STORED_COLUMNS), PURCHASES.c.trusted)
    )
