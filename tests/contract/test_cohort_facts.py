"""The cohorts' facts as the SQL money store keeps them, on SQLite and Postgres, with the
purchases stored by the consumer's service: who the campaign acquired (first trusted purchase on
the site in the campaign), the UTC day of that purchase, and whole weeks since it, at the edges
(a Sunday's last moment, exactly a week, a week less 1 ms), whatever order they arrive in."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from common_messaging import EventOccurred, EventType, PurchaseInfo
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import EventOccurrenceService
from dashboard_service.adapters.sql_money import SqlMoneyStore
from dashboard_service.domain.money_models import CohortLine
from servicekit.database import Database
from tests.support.factories import occurrence, seed_campaign, seed_site

SUNDAY_LAST = datetime(2030, 1, 13, 23, 59, 59, 999000, tzinfo=UTC)
MONDAY = datetime(2030, 1, 14, tzinfo=UTC)
WEEK, MS = timedelta(days=7), timedelta(milliseconds=1)
SUN, MON, TUE = SUNDAY_LAST.date(), MONDAY.date(), date(2030, 1, 15)

# (customer, in the campaign?, trusted?, when, amount, currency)
PURCHASES = [
    ("u1", True, True, SUNDAY_LAST, "10.00", "EUR"),
    ("u1", False, True, SUNDAY_LAST + WEEK - MS, "1.50", "EUR"),  # still week 0
    ("u1", True, True, SUNDAY_LAST + WEEK, "2.25", "EUR"),  # week 1 to the millisecond
    ("u2", False, True, MONDAY - timedelta(days=30), "5.00", "EUR"),  # bought before: not acquired
    ("u2", True, True, MONDAY, "7.00", "EUR"),
    ("u3", False, False, MONDAY - timedelta(days=3), "9.00", "EUR"),  # a browser's word only
    ("u3", True, True, MONDAY + timedelta(hours=30), "4.00", "EUR"),  # acquired on Tuesday
    ("u4", True, True, MONDAY, "3.00", "EUR"),
    ("u4", True, True, MONDAY + timedelta(days=20), "800", "JPY"),  # week 2
    ("u4", True, False, MONDAY + timedelta(days=21), "99.00", "EUR"),  # untrusted: no revenue
    ("u5", False, True, MONDAY, "6.00", "EUR"),  # another campaign's customer only
]
EXPECTED_CUSTOMERS = {SUN: 1, MON: 1, TUE: 1}
EXPECTED_LINES = {
    CohortLine(SUN, 0, "EUR", 2, Decimal("11.50")),
    CohortLine(SUN, 1, "EUR", 1, Decimal("2.25")),
    CohortLine(MON, 0, "EUR", 1, Decimal("3.00")),
    CohortLine(MON, 2, "JPY", 1, Decimal("800.00")),
    CohortLine(TUE, 0, "EUR", 1, Decimal("4.00")),
}


def _purchase(site: uuid.UUID, campaign: uuid.UUID, row: tuple[object, ...]) -> EventOccurred:
    who, _, trusted, at, amount, currency = row
    assert isinstance(at, datetime)
    return occurrence(
        type=EventType.PURCHASE,
        name="Order Completed",
        site_id=site,
        campaign_id=campaign,
        anonymous_id=who,
        occurred_at=at,
        received_at=at,
        trusted=trusted,
        purchase=PurchaseInfo(order_id="o", amount=Decimal(str(amount)), currency=currency),
    )


# The cells are kept as purchases are stored: in one batch; one at a time in time order; and
# latest first (every customer's first purchase arrives last, so each one moves).
DELIVERIES = {
    "one batch": lambda events: [events],
    "in order": lambda events: [[e] for e in sorted(events, key=lambda e: e.occurred_at)],
    "latest first": lambda events: [[e] for e in sorted(events, key=lambda e: e.occurred_at)][::-1],
}


@pytest.mark.parametrize("delivery", sorted(DELIVERIES))
def test_cohort_facts_acquired_customers_days_and_weeks(database: Database, delivery: str) -> None:
    with database.unit_of_work() as s:
        site = seed_site(s)
        campaign, _ = seed_campaign(s, site, activities=1)
        other, _ = seed_campaign(s, site, activities=1)
        ids = site.id, campaign.id
        events = [_purchase(site.id, campaign.id if p[1] else other.id, p) for p in PURCHASES]
    for batch in DELIVERIES[delivery](events):
        with database.unit_of_work() as s:
            EventOccurrenceService().store(batch, SqlOccurrenceRepository(s))
    facts = SqlMoneyStore(database.engine).cohort_facts(*ids)
    assert dict(facts.customers) == EXPECTED_CUSTOMERS
    assert set(facts.lines) == EXPECTED_LINES and len(facts.lines) == len(EXPECTED_LINES)
