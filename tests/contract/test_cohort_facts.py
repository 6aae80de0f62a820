"""The cohorts' facts as the SQL money store sums them, on SQLite and Postgres: who the campaign
acquired (first trusted purchase on the site in the campaign), the UTC day of that purchase, and
whole weeks since it, at the edges (a Sunday's last moment, exactly a week, a week less 1 ms)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dashboard_service.adapters.sql_money import SqlMoneyStore
from dashboard_service.domain.money_models import CohortLine
from datastore.schema import Purchase, User
from servicekit.database import Database
from tests.support.factories import seed_campaign, seed_site

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


def test_cohort_facts_acquired_customers_days_and_weeks(database: Database) -> None:
    with database.unit_of_work() as s:
        site = seed_site(s)
        campaign, _ = seed_campaign(s, site, activities=1)
        other, _ = seed_campaign(s, site, activities=1)
        users = {}
        for who in sorted({p[0] for p in PURCHASES}):
            users[who] = User(site_id=site.id, user_key=f"u:{who}", created_at=MONDAY)
            s.add(users[who])
        s.flush()
        for i, (who, mine, trusted, at, amount, currency) in enumerate(PURCHASES):
            s.add(
                Purchase(
                    event_id=uuid.uuid4(),
                    site_id=site.id,
                    user_id=users[who].id,
                    campaign_id=campaign.id if mine else other.id,
                    order_id=f"o{i}",
                    amount=Decimal(amount),
                    currency=currency,
                    occurred_at=at,
                    trusted=trusted,
                )
            )
        ids = site.id, campaign.id
    facts = SqlMoneyStore(database.engine).cohort_facts(*ids)
    assert dict(facts.customers) == EXPECTED_CUSTOMERS
    assert set(facts.lines) == EXPECTED_LINES and len(facts.lines) == len(EXPECTED_LINES)
