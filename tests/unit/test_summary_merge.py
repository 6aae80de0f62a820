"""Merging a batch into a stored summary when one side has no purchase yet: the known
last_purchase_at wins either way (SQLite's max() is NULL if any argument is; Postgres'
greatest() skips NULLs: the coalesces make both agree). Found by mutation testing."""

from datetime import timedelta

from sqlalchemy import select

from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import EventOccurrenceService
from datastore.schema import UserSummary
from servicekit.database import Database
from tests.support.factories import NOW, occurrence, purchase, seed_site


def _last_purchase_after(database: Database, *batches: list[str]) -> object:
    with database.unit_of_work() as s:
        site_id = seed_site(s).id
    later = NOW + timedelta(hours=1)
    make = {
        "view": lambda: occurrence(site_id=site_id, occurred_at=later),
        "buy": lambda: purchase("5.00", site_id=site_id, occurred_at=NOW),
    }
    for batch in batches:
        with database.unit_of_work() as s:
            EventOccurrenceService().store([make[k]() for k in batch], SqlOccurrenceRepository(s))
    with database.reader() as s:
        return s.scalars(select(UserSummary.last_purchase_at)).one()


def test_a_first_purchase_after_other_events_is_recorded(database: Database) -> None:
    assert _last_purchase_after(database, ["view"], ["buy"]) == NOW


def test_later_events_without_a_purchase_keep_the_last_one(database: Database) -> None:
    assert _last_purchase_after(database, ["buy"], ["view"]) == NOW


def test_no_purchase_stays_none(database: Database) -> None:
    assert _last_purchase_after(database, ["view"], ["view"]) is None
