"""The benchmark's catalog and money: the campaign and its activities, and the trusted purchases
of the generated traffic's customers, so the overview and the cohorts read real rows.

Every purchase document becomes a trusted `purchases` row of its visitor (a `users` row each),
written through core_service's purchase write path, which keeps the cohort cells the cohorts
read (so the benchmark times the read a deployment does).
Around them, as on a live site: a quarter of the customers bought on the site in the eight
weeks before the campaign (the campaign did not acquire them: the cohorts must leave them out),
the customers come back for 0 to 3 more purchases in the twelve weeks after it (the cohort
triangle's later weeks), and one purchase in twenty is a browser's own word (untrusted: no
revenue). Reporting currency EUR, as the traffic's purchases.
"""

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from benchmarks.dashboard.data import Campaign
from core_service.adapters.occurrence_repository import insert_purchase_rows
from datastore.engine import make_engine
from datastore.schema import Activity, Site, SiteMoney, User
from datastore.schema import Campaign as CampaignRow
from rollups.batch import Fact

CURRENCY = "EUR"
AFTER = timedelta(weeks=12)  # the cohorts' `now`: twelve weeks after the campaign's end
_BEFORE = timedelta(weeks=8)
_ROWS_PER_INSERT = 5_000
_PURCHASES_PER_BATCH = 500  # the consumer's batch


def seed_catalog(url: str, c: Campaign) -> None:
    """The site (reporting currency EUR), the campaign and its activities."""
    engine = make_engine(url)
    stamps = {"created_at": c.start, "updated_at": c.start}
    try:
        with Session(engine) as session, session.begin():
            session.add(Site(id=c.site_id, name="Bench", site_key=f"pk_{c.site_id.hex}", **stamps))
            session.flush()
            session.add(
                SiteMoney(site_id=c.site_id, currency=CURRENCY, rates={}, updated_at=c.start)
            )
            session.add(
                CampaignRow(
                    id=c.campaign_id, site_id=c.site_id, name="Bench", starts_at=c.start, **stamps
                )
            )
            session.flush()
            for i, (activity, capacity) in enumerate(
                zip(c.activity_ids, c.capacities, strict=True)
            ):
                at = c.start + timedelta(seconds=i)
                session.add(
                    Activity(
                        id=activity,
                        campaign_id=c.campaign_id,
                        name=f"activity {i}",
                        type="fcfs",
                        capacity=capacity,
                        created_at=at,
                        updated_at=at,
                    )
                )
    finally:
        engine.dispose()


@dataclass(frozen=True)
class MoneyLoaded:
    purchases: int  # rows written
    seconds: float  # writing them, with the cohort cells
    orders: int  # trusted purchases of the campaign (all in its day)
    acquired: int  # customers whose first trusted purchase on the site is the campaign's
    acquired_revenue: Decimal  # every trusted purchase of theirs on the site


def load_purchases(url: str, c: Campaign, bought: Sequence[Fact], seed: int = 7) -> MoneyLoaded:
    """Users and purchases around the traffic's purchase facts."""
    rng = random.Random(seed)
    users: dict[str, uuid.UUID] = {}
    rows: list[dict[str, Any]] = []

    def purchase(user: uuid.UUID, at: datetime, amount: Decimal, campaign: bool) -> None:
        rows.append(
            {
                "event_id": uuid.uuid4(),
                "site_id": c.site_id,
                "user_id": user,
                "campaign_id": c.campaign_id if campaign else None,
                "activity_id": None,
                "order_id": f"o-{len(rows)}",
                "amount": amount,
                "currency": CURRENCY,
                "occurred_at": at,
                "trusted": rng.random() >= 0.05,
            }
        )

    for fact in bought:
        user = users.get(fact.visitor_key)
        if user is None:
            user = users[fact.visitor_key] = uuid.uuid4()
            if rng.random() < 0.25:
                purchase(user, c.start - _BEFORE * rng.random(), _amount(rng), campaign=False)
            for _ in range(rng.randint(0, 3)):
                purchase(user, c.end + AFTER * rng.random(), _amount(rng), campaign=False)
        at = datetime.fromtimestamp(fact.ts, c.start.tzinfo)
        purchase(user, at, fact.revenue, campaign=True)
    first: dict[uuid.UUID, tuple[datetime, bool]] = {}
    for row in rows:
        if row["trusted"] and (
            row["user_id"] not in first or row["occurred_at"] < first[row["user_id"]][0]
        ):
            first[row["user_id"]] = (row["occurred_at"], row["campaign_id"] is not None)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            _insert(session, User.__table__, [  # type: ignore[arg-type]
                {"id": u, "site_id": c.site_id, "user_key": key, "created_at": c.start}
                for key, u in users.items()
            ])  # fmt: skip
        # Through the consumer's purchase write path (which keeps the cohort cells), in the
        # order a live site delivers them and in its batch size, one transaction each.
        rows.sort(key=lambda r: r["occurred_at"])
        started = time.perf_counter()
        for i in range(0, len(rows), _PURCHASES_PER_BATCH):
            with Session(engine) as session, session.begin():
                insert_purchase_rows(session, rows[i : i + _PURCHASES_PER_BATCH])
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    acquired = {user for user, (_, in_campaign) in first.items() if in_campaign}
    return MoneyLoaded(
        purchases=len(rows),
        seconds=seconds,
        orders=sum(1 for r in rows if r["trusted"] and r["campaign_id"] is not None),
        acquired=len(acquired),
        acquired_revenue=sum(
            (r["amount"] for r in rows if r["trusted"] and r["user_id"] in acquired), Decimal(0)
        ),
    )


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(500, 25_000)) / 100


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    for at in range(0, len(rows), _ROWS_PER_INSERT):
        session.execute(insert(table), rows[at : at + _ROWS_PER_INSERT])
