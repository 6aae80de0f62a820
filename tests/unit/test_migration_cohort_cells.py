"""Revision 20261202_0010 fills the cohort cells from the purchases stored before it, so an
existing deployment's cohorts and new customers stay as the definition says after the upgrade."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Table, insert, inspect
from sqlalchemy.orm import Session

from common_messaging import EventOccurred, EventType, PurchaseInfo
from dashboard_service.adapters.sql_money import SqlMoneyStore
from datastore.engine import make_engine
from datastore.schema import Purchase, User
from migrations.runner import downgrade, upgrade
from tests.engines import scratch_postgres_database
from tests.support.cohort_oracle import expected_facts, expected_new_customers
from tests.support.factories import occurrence, seed_site

PURCHASES: Table = Purchase.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
A, B = uuid.uuid4(), uuid.uuid4()
T0 = datetime(2030, 3, 4, 9, tzinfo=UTC)
DAYS = [(T0 + timedelta(days=i), T0 + timedelta(days=i + 1)) for i in range(-6, 30)]


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
)
def test_upgrade_fills_the_cohort_cells_from_stored_purchases(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        _check_upgrade(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        return
    with scratch_postgres_database() as url:
        _check_upgrade(url)


def _purchases(site: uuid.UUID) -> list[EventOccurred]:
    rng = random.Random(5)
    return [
        occurrence(
            type=EventType.PURCHASE,
            site_id=site,
            campaign_id=rng.choice([A, B, None]),
            anonymous_id=f"u{rng.randrange(12)}",
            occurred_at=T0 + timedelta(minutes=rng.randrange(-5000, 40000)),
            trusted=rng.random() > 0.2,
            purchase=PurchaseInfo(
                order_id="o",
                amount=Decimal(rng.randrange(1, 90000)) / 100,
                currency=rng.choice(["EUR", "USD"]),
            ),
        )
        for _ in range(120)
    ]


def _check_upgrade(url: str) -> None:
    upgrade(url, "20261202_0009")
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        site = seed_site(s).id
        bought = _purchases(site)
        users = {e.visitor_key: uuid.uuid4() for e in bought}
        s.execute(insert(USERS), [
            {"id": u, "site_id": site, "user_key": k, "created_at": T0} for k, u in users.items()
        ])  # fmt: skip
        s.execute(insert(PURCHASES), [
            {"event_id": e.event_id, "site_id": site, "user_id": users[e.visitor_key],
             "campaign_id": e.campaign_id, "activity_id": None, "order_id": "o",
             "amount": e.purchase.amount, "currency": e.purchase.currency,
             "occurred_at": e.occurred_at, "trusted": e.trusted}
            for e in bought if e.purchase is not None
        ])  # fmt: skip
    engine.dispose()

    upgrade(url)
    engine = make_engine(url)
    store = SqlMoneyStore(engine)
    for campaign in (A, B):
        facts = store.cohort_facts(site, campaign)
        customers, lines = expected_facts(bought, campaign)
        assert customers and lines  # the data set gives each campaign a cohort
        assert (dict(facts.customers), set(facts.lines)) == (customers, lines)
        assert len(facts.lines) == len(lines)
        new = [f.new_customers for f in store.purchases(site, campaign, DAYS)]
        assert new == [expected_new_customers(bought, campaign, *d) for d in DAYS]
    engine.dispose()

    downgrade(url, "20261202_0009")
    engine = make_engine(url)
    assert not {"cohort_customers", "cohort_sizes", "cohort_cells"} & set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
