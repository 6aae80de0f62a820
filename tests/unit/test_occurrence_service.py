from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import EventOccurrenceService
from datastore.schema import EventOccurrence, Purchase, User, UserSummary
from servicekit.database import Database
from servicekit.upsert import bulk_execute, bulk_insert
from tests.support.factories import NOW, occurrence, purchase, seed_site


def test_page_view_creates_user_and_summary(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    event = occurrence(site_id=site_id)
    with db.unit_of_work() as s:
        result = EventOccurrenceService().store([event], SqlOccurrenceRepository(s))
    assert (result.stored, result.duplicates) == (1, 0)
    with db.reader() as s:
        summary = s.scalars(select(UserSummary)).one()
        assert summary.first_seen_at == NOW and summary.event_count == 1
        assert summary.purchase_count == 0 and summary.last_purchase_at is None


def test_purchase_strategy_updates_summary_and_records_purchase(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    later = NOW + timedelta(hours=1)
    events = [
        occurrence(site_id=site_id),
        purchase("10.50", site_id=site_id, occurred_at=later),
        purchase("4.50", site_id=site_id, occurred_at=NOW),  # arrives late, is older
    ]
    with db.unit_of_work() as s:
        EventOccurrenceService().store(events, SqlOccurrenceRepository(s))
    with db.reader() as s:
        summary = s.scalars(select(UserSummary)).one()
        assert summary.purchase_count == 2
        assert summary.total_spent == Decimal("15.00")
        assert summary.last_purchase_at == later
        assert summary.last_seen_at == later and summary.event_count == 3
        assert s.scalar(select(func.count()).select_from(Purchase)) == 2


def test_replayed_events_change_nothing(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    events = [occurrence(site_id=site_id), purchase(site_id=site_id)]
    service = EventOccurrenceService()
    with db.unit_of_work() as s:
        service.store(events, SqlOccurrenceRepository(s))
    with db.unit_of_work() as s:
        result = service.store(events + events, SqlOccurrenceRepository(s))
    assert (result.stored, result.duplicates) == (0, 4)
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(EventOccurrence)) == 2
        assert s.scalar(select(func.count()).select_from(User)) == 1
        summary = s.scalars(select(UserSummary)).one()
        assert summary.purchase_count == 1 and summary.event_count == 2


def test_a_browsers_backdated_event_cannot_make_a_user_look_older(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    forged = occurrence(site_id=site_id, user_id="7", occurred_at=NOW - timedelta(days=29))
    vouched = occurrence(
        site_id=site_id, user_id="8", occurred_at=NOW - timedelta(days=29), trusted=True
    )
    with db.unit_of_work() as s:
        EventOccurrenceService().store([forged, vouched], SqlOccurrenceRepository(s))
    with db.reader() as s:
        rows = s.execute(
            select(User.user_key, UserSummary.first_seen_at).join(
                UserSummary, UserSummary.user_id == User.id
            )
        )
        first_seen = {row.user_key: row.first_seen_at for row in rows}
    assert first_seen == {"u:7": NOW, "u:8": NOW - timedelta(days=29)}


def test_identified_and_anonymous_visitors_are_distinct_users(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    events = [occurrence(site_id=site_id), occurrence(site_id=site_id, user_id="customer-7")]
    with db.unit_of_work() as s:
        EventOccurrenceService().store(events, SqlOccurrenceRepository(s))
    with db.reader() as s:
        keys = set(s.scalars(select(User.user_key)))
    assert keys == {"a:anon-1", "u:customer-7"}


def test_summaries_merge_across_batches_whatever_the_arrival_order(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    later = NOW + timedelta(days=1)
    with db.unit_of_work() as s:
        EventOccurrenceService().store(
            [purchase("10.00", site_id=site_id, occurred_at=later)], SqlOccurrenceRepository(s)
        )
    with db.unit_of_work() as s:
        EventOccurrenceService().store(
            [occurrence(site_id=site_id, occurred_at=NOW), purchase("2.50", site_id=site_id)],
            SqlOccurrenceRepository(s),
        )
    with db.reader() as s:
        summary = s.scalars(select(UserSummary)).one()
    assert (summary.first_seen_at, summary.last_seen_at) == (NOW, later)
    assert summary.last_purchase_at == later
    assert (summary.event_count, summary.purchase_count) == (3, 2)
    assert summary.total_spent == Decimal("12.50")


def test_every_stored_field_round_trips(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    paris = timezone(timedelta(hours=1))
    event = purchase(
        "1234.05",
        site_id=site_id,
        user_id="customer-ü",
        occurred_at=datetime(2026, 11, 23, 13, 0, 0, 123456, tzinfo=paris),
        url="https://shop.example/checkout?q=\"a\"&b='c'",
        referrer=None,
        session_id="s-1",
        properties={"cart": [{"sku": "x-1", "qty": 2}], "note": "naïve \\ \u2028", "big": 2**70},
    )
    with db.unit_of_work() as s:
        EventOccurrenceService().store([event], SqlOccurrenceRepository(s))
    with db.reader() as s:
        row = s.scalars(select(EventOccurrence)).one()
        bought = s.scalars(select(Purchase)).one()
        user = s.scalars(select(User)).one()
    assert (row.event_id, row.site_id, row.user_id) == (event.event_id, site_id, user.id)
    assert row.occurred_at == event.occurred_at and row.occurred_at.utcoffset() == timedelta(0)
    assert row.received_at == event.received_at
    assert (row.name, row.type, row.url, row.referrer) == (
        "Order Completed",
        "purchase",
        event.url,
        None,
    )
    assert (row.device_type, row.browser, row.os, row.is_new_user) == (
        "desktop",
        "Chrome",
        "Linux",
        True,
    )
    assert row.properties == event.properties
    assert (user.user_key, user.external_id) == ("u:customer-ü", "customer-ü")
    assert (bought.amount, bought.currency, bought.order_id) == (Decimal("1234.05"), "EUR", "o-1")
    assert bought.occurred_at == event.occurred_at


def test_users_keep_their_ids_across_batches(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    first = [occurrence(site_id=site_id, anonymous_id=f"anon-{i}") for i in range(3)]
    with db.unit_of_work() as s:
        before = SqlOccurrenceRepository(s).ensure_users(first)
    again = [occurrence(site_id=site_id, anonymous_id=f"anon-{i}") for i in range(5)]
    with db.unit_of_work() as s:
        after = SqlOccurrenceRepository(s).ensure_users(again)
    assert len(after) == 5 and all(after[key] == user_id for key, user_id in before.items())
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 5


def test_bulk_insert_refuses_naive_datetimes(database: Database) -> None:
    db = database
    with db.unit_of_work() as s:
        site_id = seed_site(s).id
    row = {"id": uuid4(), "site_id": site_id, "user_key": "a:x", "external_id": None}
    columns = [*row, "created_at"]
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        with db.unit_of_work() as s:
            stmt = bulk_insert(s, User.__table__, columns)  # type: ignore[arg-type]
            bulk_execute(s, stmt, columns, [{**row, "created_at": datetime(2026, 1, 1)}])
