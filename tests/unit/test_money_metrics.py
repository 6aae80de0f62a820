"""Each money metric's definition (docs/metrics.md), table by table."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from common_messaging.currency import CurrencyRates
from dashboard_service.domain.money import (
    cohorts,
    convert,
    money_figures,
    previous_period,
    spend_in_range,
    trend,
)
from dashboard_service.domain.money_models import (
    CohortFacts,
    CohortLine,
    MoneySettings,
    PurchaseFacts,
    RevenueLine,
    SpendFact,
    UnconvertedRevenue,
)

D = Decimal
DAY0 = datetime(2030, 1, 1, tzinfo=UTC)
A1, A2 = uuid.uuid4(), uuid.uuid4()
EUR = CurrencyRates("EUR", {"USD": D("0.5")})


def facts(*lines: tuple[str, int, str], new: int = 0) -> PurchaseFacts:
    return PurchaseFacts(tuple(RevenueLine(A1, c, n, D(a)) for c, n, a in lines), new)


def figures(
    lines: PurchaseFacts, spend: str | None, budget: str | None = None, entries: int = 0
) -> dict[str, object]:
    settings = MoneySettings(
        EUR,
        None if budget is None else D(budget),
        () if spend is None else (SpendFact("2030-01-01", D(spend)),),
    )
    f = money_figures(
        settings,
        lines,
        entries=entries,
        window=(None, None),
        start=DAY0,
        end=DAY0 + timedelta(days=1),
        one_activity=False,
    )
    return {
        k: getattr(f, k)
        for k in (
            "spend",
            "gmv",
            "orders",
            "aov",
            "roas",
            "cac",
            "cost_per_entry",
            "budget_used",
            "unconverted",
        )
    }


@pytest.mark.parametrize(
    ("case", "purchases", "spend", "budget", "entries", "expected"),
    [
        (
            "typical",
            facts(("EUR", 4, "200.00"), new=2),
            "50",
            "100",
            10,
            {
                "spend": D("50.00"),
                "gmv": D("200.00"),
                "orders": 4,
                "aov": D("50.00"),
                "roas": 4.0,
                "cac": D("25.00"),
                "cost_per_entry": D("5.00"),
                "budget_used": 0.5,
                "unconverted": (),
            },
        ),
        (
            "zero spend: no ROAS, CAC or cost per entry (not infinity, not 0)",
            facts(("EUR", 1, "10.00"), new=1),
            None,
            None,
            3,
            {
                "spend": D("0.00"),
                "gmv": D("10.00"),
                "orders": 1,
                "aov": D("10.00"),
                "roas": None,
                "cac": None,
                "cost_per_entry": None,
                "budget_used": None,
                "unconverted": (),
            },
        ),
        (
            "no orders, no new customers, no entries: AOV, CAC, cost per entry unknown",
            facts(),
            "30",
            None,
            0,
            {
                "spend": D("30.00"),
                "gmv": D("0.00"),
                "orders": 0,
                "aov": None,
                "roas": 0.0,
                "cac": None,
                "cost_per_entry": None,
                "budget_used": None,
                "unconverted": (),
            },
        ),
        (
            "mixed currencies: USD converted by the site's rate, JPY (no rate) kept apart",
            facts(("EUR", 1, "10.00"), ("USD", 2, "40.00"), ("JPY", 3, "9000"), new=1),
            "10",
            None,
            0,
            {
                "spend": D("10.00"),
                "gmv": D("30.00"),
                "orders": 3,
                "aov": D("10.00"),
                "roas": 3.0,
                "cac": D("10.00"),
                "cost_per_entry": None,
                "budget_used": None,
                "unconverted": (UnconvertedRevenue("JPY", 3, D("9000.00")),),
            },
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_money_figures(
    case: str,
    purchases: PurchaseFacts,
    spend: str | None,
    budget: str | None,
    entries: int,
    expected: dict[str, object],
) -> None:
    assert figures(purchases, spend, budget, entries) == expected


def test_one_activity_has_no_spend_so_no_spend_ratios() -> None:
    settings = MoneySettings(EUR, D("100"), (SpendFact("total", D("50")),))
    f = money_figures(
        settings,
        facts(("EUR", 1, "10"), new=1),
        entries=1,
        window=(None, None),
        start=DAY0,
        end=DAY0 + timedelta(days=1),
        one_activity=True,
    )
    assert (f.spend, f.roas, f.cac, f.cost_per_entry, f.gmv) == (None, None, None, None, D("10.00"))


def test_convert_keeps_activities_apart() -> None:
    lines = [
        RevenueLine(A1, "EUR", 1, D("10")),
        RevenueLine(A2, "USD", 2, D("10")),
        RevenueLine(None, "EUR", 1, D("1")),
    ]
    c = convert(lines, EUR)
    assert c.gmv == D("16.00") and c.orders == 4
    assert c.by_activity == {A1: (D("10.00"), 1), A2: (D("5.00"), 2)}


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("spend", "window", "start", "end", "expected"),
    [
        # A day's spend spreads evenly over its UTC day.
        ([SpendFact("2030-01-01", D("24"))], (None, None), DAY0, DAY0 + 24 * H, "24.00"),
        ([SpendFact("2030-01-01", D("24"))], (None, None), DAY0 + 6 * H, DAY0 + 12 * H, "6.00"),
        ([SpendFact("2030-01-02", D("24"))], (None, None), DAY0, DAY0 + 24 * H, "0.00"),
        # A total spreads over the campaign's window...
        ([SpendFact("total", D("100"))], (DAY0, DAY0 + 10 * 24 * H), DAY0, DAY0 + 24 * H, "10.00"),
        # ...and counts whole when the window is open-ended.
        ([SpendFact("total", D("100"))], (DAY0, None), DAY0, DAY0 + H, "100.00"),
    ],
)
def test_spend_in_range(
    spend: list[SpendFact],
    window: tuple[datetime | None, datetime | None],
    start: datetime,
    end: datetime,
    expected: str,
) -> None:
    assert spend_in_range(spend, window, start, end) == D(expected)


@pytest.mark.parametrize(
    ("current", "previous", "higher", "direction", "delta", "change"),
    [
        (12, 10, True, "up", 2.0, 0.2),
        (8, 10, True, "down", -2.0, -0.2),
        (5, 5, True, "flat", 0.0, 0.0),
        (3, 0, True, "up", 3.0, None),  # no relative change from zero
        (None, 10, False, None, None, None),  # e.g. CAC without spend now
    ],
)
def test_trend(
    current: float | None,
    previous: float,
    higher: bool,
    direction: str | None,
    delta: float | None,
    change: float | None,
) -> None:
    t = trend(current, previous, higher_is_better=higher)
    assert (t.direction, t.delta, t.change, t.higher_is_better) == (
        direction,
        delta,
        change,
        higher,
    )


def test_previous_period_is_the_same_length_just_before() -> None:
    assert previous_period(DAY0 + 24 * H, DAY0 + 72 * H) == (DAY0 - 24 * H, DAY0 + 24 * H)


def test_cohort_triangle() -> None:
    monday = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday
    day = monday.date()
    # u1, u2 first bought on the Monday and the Wednesday, u3 the Monday after
    facts = CohortFacts(
        customers={day: 1, day + timedelta(days=2): 1, day + timedelta(days=7): 1},
        lines=(
            CohortLine(day, 0, "EUR", 1, D("10")),
            CohortLine(day, 1, "USD", 1, D("20")),  # week 1, 10 EUR
            CohortLine(day + timedelta(days=2), 0, "EUR", 1, D("30")),
            CohortLine(day + timedelta(days=2), 0, "JPY", 1, D("500")),  # no rate: apart
            CohortLine(day + timedelta(days=2), 3, "JPY", 2, D("100")),  # apart, past the weeks
            CohortLine(day + timedelta(days=2), 3, "EUR", 1, D("70")),  # past the weeks: left out
            CohortLine(day + timedelta(days=7), 0, "EUR", 1, D("5")),
        ),
    )
    now = monday + timedelta(days=10)
    result = cohorts(facts, EUR, now, weeks=3)
    assert [(r.week_start, r.customers) for r in result.rows] == [
        (monday, 2),
        (monday + timedelta(days=7), 1),
    ]
    # (10 + 30) / 2 after week 0; + 10 / 2 after week 1; week 2 has not begun (now = day 10).
    assert result.rows[0].cumulative_revenue_per_customer == (D("20.00"), D("25.00"), None)
    assert result.rows[1].cumulative_revenue_per_customer == (D("5.00"), None, None)
    assert result.unconverted == (UnconvertedRevenue("JPY", 3, D("600.00")),)
