"""Money, trends, cohorts and the site overview through the API, with events stored by the
consumer's real writer (so purchases land where production puts them), on SQLite and Postgres.
Replays change nothing."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import EventOccurred, EventType, PurchaseInfo
from common_messaging.currency import CurrencyRates
from core_service.adapters.money_repository import SqlMoneyRepository
from core_service.consumer.writers import BatchWriter
from core_service.domain import money as admin_money
from core_service.domain.occurrences import EventOccurrenceService
from servicekit.database import Database
from tests.support.dashboard_api import AUTH, dashboard_client, metrics
from tests.support.factories import occurrence, seed_campaign, seed_site

DAY = datetime(2030, 1, 8, tzinfo=UTC)  # a Tuesday
NOW = DAY + timedelta(days=1)
VIEW = {"from": DAY.isoformat(), "to": NOW.isoformat()}  # previous period: Jan 7


def buy(
    site: uuid.UUID,
    campaign: uuid.UUID,
    activity: uuid.UUID,
    who: str,
    at: datetime,
    amount: str,
    currency: str = "EUR",
    *,
    trusted: bool = True,
) -> EventOccurred:
    """A purchase the site vouched for unless `trusted=False` (a browser's word alone)."""
    return occurrence(
        type=EventType.PURCHASE,
        trusted=trusted,
        name="Order Completed",
        site_id=site,
        campaign_id=campaign,
        activity_id=activity,
        anonymous_id=who,
        occurred_at=at,
        received_at=at,
        purchase=PurchaseInfo(
            order_id=str(uuid.uuid4()), amount=Decimal(amount), currency=currency
        ),
    )


def view(
    site: uuid.UUID, campaign: uuid.UUID, activity: uuid.UUID, who: str, at: datetime
) -> EventOccurred:
    return occurrence(
        site_id=site,
        campaign_id=campaign,
        activity_id=activity,
        anonymous_id=who,
        occurred_at=at,
        received_at=at,
    )


@pytest.fixture
def world(database: Database) -> Iterator[dict[str, Any]]:
    with database.unit_of_work() as s:
        site = seed_site(s)
        campaign, (a1, a2) = seed_campaign(s, site)
        other, (b1,) = seed_campaign(s, site, activities=1)
        ids = {
            "site": site.id,
            "campaign": campaign.id,
            "a1": a1.id,
            "a2": a2.id,
            "other": other.id,
            "b1": b1.id,
        }
        repo = SqlMoneyRepository(s)
        clock = lambda: NOW  # noqa: E731
        admin_money.set_rates(repo, site.id, CurrencyRates("EUR", {"USD": Decimal("0.5")}), clock)
        admin_money.set_budget(repo, campaign.id, Decimal("1000"), None, clock)
        admin_money.put_spend(repo, campaign.id, DAY.date().isoformat(), Decimal("40"), None, clock)
        admin_money.put_spend(repo, campaign.id, "2030-01-07", Decimal("20"), None, clock)
    s_, c, a1_, a2_ = ids["site"], ids["campaign"], ids["a1"], ids["a2"]
    early = DAY - timedelta(days=1) + timedelta(hours=10)  # the previous period
    events = [
        # u1: first purchase in the previous period (acquired then), buys again today
        buy(s_, c, a1_, "u1", early, "10.00"),
        buy(s_, c, a1_, "u1", DAY + timedelta(hours=1), "30.00"),
        # u2: acquired today, pays in USD (converted at 0.5)
        buy(s_, c, a2_, "u2", DAY + timedelta(hours=2), "20.00", "USD"),
        # u3: pays in JPY, which has no rate: apart, never added
        buy(s_, c, a2_, "u3", DAY + timedelta(hours=3), "900", "JPY"),
        # u4: first bought in the other campaign, so this one did not acquire them
        buy(s_, ids["other"], ids["b1"], "u4", early, "5.00"),
        buy(s_, c, a1_, "u4", DAY + timedelta(hours=4), "50.00"),
        # u6: a browser claims a big order; not vouched for, so it is no revenue (nor customer)
        buy(s_, c, a1_, "u6", DAY + timedelta(hours=5), "5000.00", trusted=False),
        view(s_, c, a1_, "u1", DAY + timedelta(hours=1)),
        view(s_, c, a1_, "u5", DAY + timedelta(hours=1)),
        view(s_, c, a1_, "u5", early),
        view(s_, ids["other"], ids["b1"], "u4", DAY),
    ]
    writer = BatchWriter(database, SqlAnalyticsIndex(database), EventOccurrenceService())
    writer(events)
    writer(events)  # a replay: every id is stored already, nothing may count twice
    writer(list(reversed(events[:3])))
    yield ids


@pytest.fixture
def client(database_url: str, world: dict[str, Any]) -> Iterator[TestClient]:
    with dashboard_client(database_url, NOW) as c:
        yield c


def test_money_of_the_view(client: TestClient, world: dict[str, Any]) -> None:
    body = metrics(client, world["campaign"], **VIEW)
    # GMV 30 + 10 (20 USD) + 50 = 90 EUR in 3 orders; JPY apart; new customers: u2 only
    # (u1 was acquired yesterday, u4 by the other campaign, u3 paid in JPY but is still new).
    assert body["money"] == {
        "currency": "EUR",
        "budget": "1000.00",
        "spend": "40.00",
        "gmv": "90.00",
        "orders": 3,
        "new_customers": 2,
        "aov": "30.00",
        "roas": 2.25,
        "cac": "20.00",
        "cost_per_entry": None,
        "budget_used": 0.04,
        "unconverted": [{"currency": "JPY", "orders": 1, "amount": "900.00"}],
    }
    rows = {a["activity_id"]: (a["gmv"], a["orders"]) for a in body["activities"]}
    assert rows == {str(world["a1"]): ("80.00", 2), str(world["a2"]): ("10.00", 1)}


def test_every_kpi_has_a_trend_against_the_previous_day(
    client: TestClient, world: dict[str, Any]
) -> None:
    body = metrics(client, world["campaign"], **VIEW)
    assert body["previous_range"]["from"].startswith("2030-01-07T00:00:00")
    trends = body["trends"]
    assert trends["gmv"] == {
        "current": 90.0,
        "previous": 10.0,
        "delta": 80.0,
        "change": 8.0,
        "direction": "up",
        "higher_is_better": True,
    }
    assert trends["spend"]["direction"] == "up" and trends["spend"]["higher_is_better"] is False
    assert trends["visits"] == {
        "current": 2.0,
        "previous": 1.0,
        "delta": 1.0,
        "change": 1.0,
        "direction": "up",
        "higher_is_better": True,
    }
    assert trends["roas"]["previous"] == 0.5  # 10 / 20
    assert {
        "visits",
        "unique_visitors",
        "clicks",
        "click_rate",
        "purchases",
        "conversion_rate",
        "entries",
        "gmv",
        "orders",
        "aov",
        "spend",
        "roas",
        "cac",
        "cost_per_entry",
        "new_customers",
    } == set(trends)


def test_one_activity_has_revenue_but_no_spend(client: TestClient, world: dict[str, Any]) -> None:
    body = metrics(client, world["campaign"], activity_id=str(world["a1"]), **VIEW)
    assert body["money"]["gmv"] == "80.00" and body["money"]["spend"] is None
    assert body["money"]["roas"] is None


def test_cohorts(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get(
        f"/v1/campaigns/{world['campaign']}/cohorts", params={"weeks": 3}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Jan 7 (Monday) week: u1 (10 + 30), u2 (10), u3 (JPY only). u4 belongs to the other campaign.
    assert body["currency"] == "EUR"
    assert body["rows"] == [
        {
            "week_start": "2030-01-07T00:00:00Z",
            "customers": 3,
            "cumulative_revenue_per_customer": ["16.67", None, None],
        },
    ]
    assert body["unconverted"] == [{"currency": "JPY", "orders": 1, "amount": "900.00"}]


def test_site_overview(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get(f"/v1/sites/{world['site']}/overview", params=VIEW, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {r["campaign_id"]: r for r in body["campaigns"]}
    main, other = rows[str(world["campaign"])], rows[str(world["other"])]
    assert (main["gmv"], main["orders"], main["visits"], main["spend"], main["budget"]) == (
        "90.00",
        3,
        2,
        "40.00",
        "1000.00",
    )
    assert main["roas"] == 2.25
    assert (other["gmv"], other["visits"], other["budget"], other["roas"]) == (
        "0.00",
        1,
        None,
        None,
    )
    assert body["top_by_gmv"] == [str(world["campaign"])]
    assert body["top_by_visits"] == [str(world["campaign"]), str(world["other"])]
    assert body["gmv"] == "90.00" and body["currency"] == "EUR"


def test_overview_and_cohorts_errors(client: TestClient, world: dict[str, Any]) -> None:
    missing = uuid.uuid4()
    r = client.get(f"/v1/sites/{missing}/overview", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "site_not_found"
    r = client.get(f"/v1/campaigns/{missing}/cohorts", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "campaign_not_found"
    r = client.get(
        f"/v1/sites/{world['site']}/overview",
        params={"from": NOW.isoformat(), "to": DAY.isoformat()},
        headers=AUTH,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range"
    r = client.get(f"/v1/campaigns/{world['campaign']}/cohorts", params={"weeks": 0}, headers=AUTH)
    assert r.status_code == 422
    assert client.get(f"/v1/sites/{world['site']}/overview").status_code == 401
