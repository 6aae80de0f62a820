"""Entries against capacity and the funnel through GET /v1/campaigns/{id}/metrics.

Confirmed entries reach the analytics store as occurrences of type `entry` written by
core_service's analytics writer (visitor `u:<user id>`, time = confirmation); the numbers below
are worked out by hand from the events each test writes.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType, PurchaseInfo
from datastore.schema import Activity, Campaign, Site
from servicekit.database import Database
from tests.support.dashboard_api import dashboard_client, metrics

START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)  # the campaign's start
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
WINDOW = {"from": "2024-05-01T10:00:00Z", "to": "2024-05-01T13:00:00Z"}


@dataclass
class Seed:
    site: uuid.UUID
    campaign: uuid.UUID
    coupon: uuid.UUID  # capacity 2, starts 09:00
    flash: uuid.UUID  # capacity 5, no start of its own
    raffle: uuid.UUID  # no capacity


def seed_catalog(database: Database, capacities: tuple[int | None, ...]) -> Seed:
    stamps = {"created_at": START, "updated_at": START}
    with Session(database.engine) as session, session.begin():
        site = Site(id=uuid.uuid4(), name="Shop", site_key=f"sk_{uuid.uuid4().hex}", **stamps)
        session.add(site)
        session.flush()
        campaign = Campaign(
            id=uuid.uuid4(), site_id=site.id, name="Opening", starts_at=START, **stamps
        )
        session.add(campaign)
        session.flush()
        ids = []
        for i, (name, capacity, starts) in enumerate(
            zip(
                ("coupon", "flash", "raffle"),
                capacities,
                (T0 - timedelta(hours=1), None, None),
                strict=True,
            )
        ):
            activity = Activity(
                id=uuid.uuid4(),
                campaign_id=campaign.id,
                name=name,
                type="fcfs",
                capacity=capacity,
                starts_at=starts,
                created_at=START + timedelta(minutes=i),
                updated_at=START,
            )
            session.add(activity)
            ids.append(activity.id)
        site_id, campaign_id = site.id, campaign.id
    return Seed(site_id, campaign_id, *ids)


def occurred(
    seed: Seed,
    activity: uuid.UUID,
    kind: EventType,
    minutes: float,
    user: str,
    device: DeviceType = DeviceType.MOBILE,
    new: bool = True,
) -> EventOccurred:
    at = T0 + timedelta(minutes=minutes)
    purchase = (
        PurchaseInfo(order_id="o-1", amount=Decimal("10.00"), currency="EUR")
        if kind is EventType.PURCHASE
        else None
    )
    return EventOccurred(
        event_id=uuid.uuid4(),
        site_id=seed.site,
        campaign_id=seed.campaign,
        activity_id=activity,
        name=kind.value,
        type=kind,
        occurred_at=at,
        received_at=at,
        anonymous_id=f"anon-{user}",
        user_id=user,
        device=DeviceInfo(device_type=device),
        is_new_user=new,
        purchase=purchase,
    )


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with dashboard_client(database_url, T0 + timedelta(hours=4)) as test_client:
        yield test_client


def opening(seed: Seed) -> list[EventOccurred]:
    """alice and bob fill the coupon; carol and (before the window) dave enter the flash sale."""
    pv, click, buy, entry = (
        EventType.PAGE_VIEW,
        EventType.CLICK,
        EventType.PURCHASE,
        EventType.ENTRY,
    )
    return [
        occurred(seed, seed.coupon, pv, 1, "alice"),
        occurred(seed, seed.coupon, click, 2, "alice"),
        occurred(seed, seed.coupon, entry, 5, "alice"),
        occurred(seed, seed.coupon, pv, 6, "bob", DeviceType.DESKTOP, new=False),
        occurred(seed, seed.coupon, entry, 20, "bob", DeviceType.DESKTOP, new=False),
        occurred(seed, seed.flash, pv, 25, "carol", DeviceType.TABLET),
        occurred(seed, seed.flash, click, 26, "carol", DeviceType.TABLET),
        occurred(seed, seed.flash, entry, 30, "carol", DeviceType.TABLET),
        occurred(seed, seed.flash, buy, 40, "carol", DeviceType.TABLET),
        occurred(seed, seed.flash, entry, -120, "dave"),  # 08:00, before the window
        occurred(seed, seed.raffle, entry, 60, "erin"),  # entered without a tracked visit
    ]


def test_entries_fill_rate_and_time_to_sell_out(client: TestClient, database: Database) -> None:
    seed = seed_catalog(database, (2, 5, None))
    SqlAnalyticsIndex(database).index(opening(seed))

    body = metrics(client, seed.campaign, **WINDOW)

    coupon, flash, raffle = body["activities"]
    assert {k: coupon[k] for k in CAPACITY_KEYS} == {
        "entries": 2,
        "capacity": 2,
        "confirmed_entries": 2,
        "fill_rate": 1.0,
        "sold_out": True,
        "last_entry_at": "2024-05-01T10:20:00Z",
        "time_to_sell_out_seconds": 80 * 60,  # from the coupon's own start at 09:00
    }
    assert {k: flash[k] for k in CAPACITY_KEYS} == {
        "entries": 1,  # dave's entry is before the window
        "capacity": 5,
        "confirmed_entries": 2,  # ... but it used up capacity all the same
        "fill_rate": 0.4,
        "sold_out": False,
        "last_entry_at": "2024-05-01T10:30:00Z",
        "time_to_sell_out_seconds": None,
    }
    assert (raffle["capacity"], raffle["fill_rate"], raffle["sold_out"]) == (None, None, False)
    assert (raffle["entries"], raffle["confirmed_entries"]) == (1, 1)
    totals = body["totals"]
    assert {k: totals[k] for k in CAPACITY_KEYS if k != "last_entry_at"} == {
        "entries": 4,
        "capacity": 7,
        "confirmed_entries": 5,
        "fill_rate": round(4 / 7, 4),  # the raffle's entry uses no capacity
        "sold_out": False,
        "time_to_sell_out_seconds": None,
    }
    assert [b["entries"] for b in body["timeline"]] == [3, 1, 0]


def test_capacity_ignores_the_filters_but_entries_follow_them(
    client: TestClient, database: Database
) -> None:
    seed = seed_catalog(database, (2, 5, None))
    SqlAnalyticsIndex(database).index(opening(seed))

    body = metrics(client, seed.campaign, device_type="desktop", **WINDOW)

    coupon, flash, _ = body["activities"]
    assert (coupon["entries"], coupon["confirmed_entries"], coupon["sold_out"]) == (1, 2, True)
    assert (flash["entries"], flash["confirmed_entries"]) == (0, 2)
    assert body["totals"]["entries"] == 1


def test_campaign_sells_out_when_every_capped_activity_does(
    client: TestClient, database: Database
) -> None:
    seed = seed_catalog(database, (2, 2, None))
    SqlAnalyticsIndex(database).index(opening(seed))

    totals = metrics(client, seed.campaign, **WINDOW)["totals"]

    # flash filled at 10:30 by carol (dave's 08:00 entry was the first); campaign start 00:00.
    assert (totals["sold_out"], totals["fill_rate"], totals["capacity"]) == (True, 1.0, 4)
    assert totals["time_to_sell_out_seconds"] == 10 * 3600 + 30 * 60


def test_funnel_counts_the_visitors_of_each_stage(client: TestClient, database: Database) -> None:
    seed = seed_catalog(database, (2, 5, None))
    SqlAnalyticsIndex(database).index(opening(seed))

    funnel = metrics(client, seed.campaign, **WINDOW)["funnel"]

    # viewed: alice bob carol; clicked: alice carol; entered or bought: alice bob carol erin.
    # bob entered without a click and erin without a tracked visit: each stage counts its own.
    assert [(s["stage"], s["visitors"]) for s in funnel] == [
        ("visited", 3),
        ("clicked", 2),
        ("entered_or_purchased", 4),
    ]
    assert [s["rate_from_previous"] for s in funnel] == [1.0, 0.6667, 2.0]
    assert [s["rate_from_first"] for s in funnel] == [1.0, 0.6667, 1.3333]


CAPACITY_KEYS = (
    "entries",
    "capacity",
    "confirmed_entries",
    "fill_rate",
    "sold_out",
    "last_entry_at",
    "time_to_sell_out_seconds",
)
