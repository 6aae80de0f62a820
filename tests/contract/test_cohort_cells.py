"""The cohort cells kept as trusted purchases are stored, on SQLite and Postgres, against the
definition worked out from the purchases in Python (tests/support/cohort_oracle.py): replays add
nothing, a late purchase earlier than a customer's first moves them (between campaigns, cohort
days, and in or out of no campaign), currencies stay apart, untrusted purchases never count, and
concurrent writers (Postgres) lose nothing."""

import random
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from common_messaging import EventOccurred, EventType, PurchaseInfo
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import EventOccurrenceService
from dashboard_service.adapters.sql_money import SqlMoneyStore
from dashboard_service.domain.money_models import CohortLine
from datastore.engine import make_engine
from servicekit.database import Database
from tests.engines import scratch_postgres_database
from tests.support.cohort_oracle import expected_facts, expected_new_customers
from tests.support.factories import occurrence, seed_campaign, seed_site

T0 = datetime(2030, 3, 4, 9, tzinfo=UTC)  # a Monday
DAY, WEEK = timedelta(days=1), timedelta(weeks=1)


class Shop:
    def __init__(self, database: Database) -> None:
        self.database = database
        with database.unit_of_work() as s:
            site = seed_site(s)
            self.site = site.id
            self.a, self.b = (seed_campaign(s, site, activities=1)[0].id for _ in range(2))
        self.delivered: list[EventOccurred] = []

    def buy(
        self,
        who: str,
        campaign: uuid.UUID | None,
        at: datetime,
        amount: str = "10.00",
        currency: str = "EUR",
        *,
        trusted: bool = True,
    ) -> EventOccurred:
        return occurrence(
            type=EventType.PURCHASE,
            name="Order Completed",
            site_id=self.site,
            campaign_id=campaign,
            anonymous_id=who,
            occurred_at=at,
            received_at=at,
            trusted=trusted,
            purchase=PurchaseInfo(order_id="o", amount=Decimal(amount), currency=currency),
        )

    def store(self, *batches: Sequence[EventOccurred]) -> None:
        for batch in batches:
            with self.database.unit_of_work() as s:
                EventOccurrenceService().store(batch, SqlOccurrenceRepository(s))
            self.delivered.extend(batch)

    def facts(self, campaign: uuid.UUID) -> tuple[dict[object, int], set[CohortLine]]:
        got = SqlMoneyStore(self.database.engine).cohort_facts(self.site, campaign)
        assert len(set(got.lines)) == len(got.lines)
        return dict(got.customers), set(got.lines)

    def check(self) -> None:
        """Both campaigns' facts, and their new customers per day, as the definition says."""
        store = SqlMoneyStore(self.database.engine)
        for campaign in (self.a, self.b):
            assert self.facts(campaign) == expected_facts(self.delivered, campaign)
            days = [(T0 + i * DAY, T0 + (i + 1) * DAY) for i in range(-10, 30)]
            got = [f.new_customers for f in store.purchases(self.site, campaign, days)]
            assert got == [expected_new_customers(self.delivered, campaign, *d) for d in days]


def test_a_late_earlier_purchase_moves_the_customer(database: Database) -> None:
    shop = Shop(database)
    shop.store([shop.buy("u1", shop.b, T0 + 2 * DAY, "7.00"), shop.buy("u1", None, T0 + 9 * DAY)])
    assert shop.facts(shop.b) == (
        {(T0 + 2 * DAY).date(): 1},
        {
            CohortLine((T0 + 2 * DAY).date(), 0, "EUR", 1, Decimal("7.00")),
            CohortLine((T0 + 2 * DAY).date(), 1, "EUR", 1, Decimal("10.00")),
        },
    )
    # Earlier, in campaign A: u1 leaves B's cohort with everything they bought.
    shop.store([shop.buy("u1", shop.a, T0, "1.25")])
    assert shop.facts(shop.b) == ({}, set())
    assert shop.facts(shop.a) == (
        {T0.date(): 1},
        {
            CohortLine(T0.date(), 0, "EUR", 2, Decimal("8.25")),
            CohortLine(T0.date(), 1, "EUR", 1, Decimal("10.00")),
        },
    )
    # Earlier still, in no campaign: acquired by none.
    shop.store([shop.buy("u1", None, T0 - DAY)])
    assert shop.facts(shop.a) == ({}, set())
    # A second customer moves between two days of the same campaign (weeks recounted).
    shop.store([shop.buy("u2", shop.a, T0 + 8 * DAY, "3.00")])
    shop.store([shop.buy("u2", shop.a, T0 + DAY, "4.00")])
    assert shop.facts(shop.a) == (
        {(T0 + DAY).date(): 1},
        {
            CohortLine((T0 + DAY).date(), 0, "EUR", 1, Decimal("4.00")),
            CohortLine((T0 + DAY).date(), 1, "EUR", 1, Decimal("3.00")),
        },
    )
    # At one instant, the lower event id is the first purchase.
    one, two = sorted(
        (shop.buy("u3", shop.a, T0), shop.buy("u3", shop.b, T0)), key=lambda e: e.event_id
    )
    shop.store([two], [one])
    assert one.campaign_id is not None and two.campaign_id is not None
    assert shop.facts(one.campaign_id)[0].get(T0.date()) == 1
    assert shop.facts(two.campaign_id)[0].get(T0.date()) is None
    shop.check()


def test_replays_and_redeliveries_add_nothing(database: Database) -> None:
    shop = Shop(database)
    events = [
        shop.buy("u1", shop.a, T0, "5.00"),
        shop.buy("u1", shop.b, T0 + 3 * WEEK, "6.00"),
        shop.buy("u2", shop.a, T0 + DAY, "2.50"),
        shop.buy("u2", None, T0 - DAY, "1.00"),  # u2 is nobody's
        shop.buy("u3", shop.b, T0 + 2 * DAY, "9.99"),
    ]
    shop.store(events)
    before = shop.facts(shop.a), shop.facts(shop.b)
    shop.store(events, events[::-1], [events[3]], [events[0], events[0]])
    assert (shop.facts(shop.a), shop.facts(shop.b)) == before
    shop.check()


def test_currencies_stay_apart(database: Database) -> None:
    shop = Shop(database)
    shop.store(
        [
            shop.buy("u1", shop.a, T0, "10.00", "EUR"),
            shop.buy("u1", shop.b, T0 + DAY, "12.00", "USD"),
            shop.buy("u2", shop.a, T0 + DAY, "800", "JPY"),
            shop.buy("u2", None, T0 + WEEK + DAY, "0.01", "EUR"),
        ]
    )
    assert shop.facts(shop.a)[1] == {
        CohortLine(T0.date(), 0, "EUR", 1, Decimal("10.00")),
        CohortLine(T0.date(), 0, "USD", 1, Decimal("12.00")),
        CohortLine((T0 + DAY).date(), 0, "JPY", 1, Decimal("800.00")),
        CohortLine((T0 + DAY).date(), 1, "EUR", 1, Decimal("0.01")),
    }
    shop.check()


def test_untrusted_purchases_never_count(database: Database) -> None:
    shop = Shop(database)
    forged = shop.buy("u1", shop.b, T0 - DAY, "999.00", trusted=False)
    shop.store([shop.buy("u1", shop.a, T0)], [forged], [shop.buy("u2", shop.b, T0, trusted=False)])
    # The same event id vouched for later: stored once, as first delivered (untrusted).
    shop.store([forged.model_copy(update={"trusted": True})])
    assert shop.facts(shop.a) == (
        {T0.date(): 1},
        {CohortLine(T0.date(), 0, "EUR", 1, Decimal("10.00"))},
    )
    assert shop.facts(shop.b) == ({}, set())
    shop.check()


def _random_purchases(shop: Shop, rng: random.Random, n: int) -> list[EventOccurred]:
    campaigns = [shop.a, shop.b, None]
    return [
        shop.buy(
            f"u{rng.randrange(6)}",
            rng.choice(campaigns),
            T0 + timedelta(hours=rng.randrange(-100, 600)),
            f"{rng.randrange(1, 5000) / 100:.2f}",
            rng.choice(["EUR", "EUR", "USD"]),
            trusted=rng.random() > 0.15,
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_deliveries_match_the_definition(database: Database, seed: int) -> None:
    """Random customers, campaigns, times and batches, each re-delivered in part later."""
    rng = random.Random(seed)
    shop = Shop(database)
    events = _random_purchases(shop, rng, 40)
    batches = []
    while events:
        size = rng.randint(1, 6)
        batches.append(events[:size])
        events = events[size:]
    for batch in batches:
        replay = rng.sample(shop.delivered, min(len(shop.delivered), 2))
        shop.store(batch + replay)
    shop.check()


@pytest.mark.integration
def test_concurrent_writers_lose_nothing(migrated_postgres: str) -> None:
    """Four threads store random purchases of the same six customers at once, many of them
    moving a customer; the kept cells still equal the definition."""
    with scratch_postgres_database(template=migrated_postgres) as url:
        database = Database(make_engine(url))
        try:
            _race(Shop(database))
        finally:
            database.dispose()


def _race(shop: Shop) -> None:
    rng = random.Random(3)
    work = [_random_purchases(shop, rng, 3) for _ in range(40)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(mine: list[list[EventOccurred]]) -> None:
        start.wait()
        try:
            shop.store(*mine)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(work[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    shop.check()
