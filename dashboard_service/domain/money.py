"""Money metrics (docs/metrics.md): spend in a range, revenue in the reporting currency, the
ratios, trends against the previous period, and the cohort triangle. Pure functions."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from common_messaging.currency import CurrencyRates, to_cents
from dashboard_service.domain.money_models import (
    CohortFacts,
    CohortRow,
    Cohorts,
    MoneyFigures,
    MoneySettings,
    PurchaseFacts,
    RevenueLine,
    SpendFact,
    Trend,
    UnconvertedRevenue,
)

ZERO = Decimal("0")
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
TOTAL = "total"


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> float:
    """The share of `[a0, a1)` that lies in `[b0, b1)`."""
    length = (a1 - a0).total_seconds()
    inside = (min(a1, b1) - max(a0, b0)).total_seconds()
    return max(inside, 0.0) / length if length > 0 else 0.0


def spend_in_range(
    spend: Iterable[SpendFact],
    window: tuple[datetime | None, datetime | None],
    start: datetime,
    end: datetime,
) -> Decimal:
    """Spend attributed to `[start, end)`: a day's spend spread evenly over its UTC day; a total
    spread evenly over the campaign's window, or counted whole when the window is open-ended
    (no start or no end: there is nothing to spread it over)."""
    result = ZERO
    for fact in spend:
        if fact.period == TOTAL:
            w0, w1 = window
            share = 1.0 if w0 is None or w1 is None else _overlap(w0, w1, start, end)
        else:
            day = datetime.combine(date.fromisoformat(fact.period), datetime.min.time(), UTC)
            share = _overlap(day, day + DAY, start, end)
        if share >= 1.0:
            result += fact.amount
        elif share > 0:
            result += fact.amount * Decimal(repr(share))
    return to_cents(result)


@dataclass(frozen=True)
class Converted:
    gmv: Decimal
    orders: int
    by_activity: Mapping[UUID, tuple[Decimal, int]]
    unconverted: tuple[UnconvertedRevenue, ...]


def convert(lines: Iterable[RevenueLine], rates: CurrencyRates) -> Converted:
    """Revenue in the reporting currency; lines without a rate are kept apart, never added."""
    gmv, orders = ZERO, 0
    by_activity: dict[UUID, tuple[Decimal, int]] = {}
    apart: dict[str, tuple[int, Decimal]] = {}
    for line in lines:
        amount = rates.convert(line.amount, line.currency)
        if amount is None:
            n, total = apart.get(line.currency, (0, ZERO))
            apart[line.currency] = (n + line.orders, total + line.amount)
            continue
        gmv += amount
        orders += line.orders
        if line.activity_id is not None:
            a_gmv, a_orders = by_activity.get(line.activity_id, (ZERO, 0))
            by_activity[line.activity_id] = (a_gmv + amount, a_orders + line.orders)
    return Converted(
        gmv=to_cents(gmv),
        orders=orders,
        by_activity={k: (to_cents(v), n) for k, (v, n) in by_activity.items()},
        unconverted=tuple(
            UnconvertedRevenue(c, n, to_cents(a)) for c, (n, a) in sorted(apart.items())
        ),
    )


def _ratio(numerator: Decimal, denominator: Decimal | int) -> Decimal | None:
    return to_cents(numerator / denominator) if denominator else None


def money_figures(
    settings: MoneySettings,
    facts: PurchaseFacts,
    *,
    entries: int,
    window: tuple[datetime | None, datetime | None],
    start: datetime,
    end: datetime,
    one_activity: bool,
) -> MoneyFigures:
    """The view's money. Spend is per campaign: a view of one activity has no spend, so neither
    ROAS, CAC nor cost per entry (they would charge the whole campaign to one activity)."""
    converted = convert(facts.lines, settings.rates)
    spend = None if one_activity else spend_in_range(settings.spend, window, start, end)
    has_spend = spend is not None and spend > 0
    return MoneyFigures(
        currency=settings.rates.currency,
        budget=settings.budget,
        spend=spend,
        gmv=converted.gmv,
        orders=converted.orders,
        new_customers=facts.new_customers,
        aov=_ratio(converted.gmv, converted.orders),
        roas=round(float(converted.gmv / spend), 4) if has_spend and spend else None,
        cac=_ratio(spend, facts.new_customers) if has_spend and spend else None,
        cost_per_entry=_ratio(spend, entries) if has_spend and spend else None,
        budget_used=(
            round(float(spend / settings.budget), 4)
            if spend is not None and settings.budget
            else None
        ),
        unconverted=converted.unconverted,
    )


def trend(
    current: float | Decimal | None, previous: float | Decimal | None, higher_is_better: bool = True
) -> Trend:
    """Delta and direction of a KPI against the previous period."""
    if current is None or previous is None:
        return Trend(
            _num(current), _num(previous), None, None, None, higher_is_better=higher_is_better
        )
    cur, prev = float(current), float(previous)
    delta = round(cur - prev, 4)
    direction = "flat" if delta == 0 else ("up" if delta > 0 else "down")
    change = round(delta / prev, 4) if prev else None
    return Trend(cur, prev, delta, change, direction, higher_is_better)


def _num(value: float | Decimal | None) -> float | None:
    return None if value is None else float(value)


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The same-length period just before `[start, end)`."""
    return start - (end - start), start


def _monday(day: date) -> datetime:
    """Monday 00:00 UTC of `day`'s week."""
    return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)


def cohorts(facts: CohortFacts, rates: CurrencyRates, now: datetime, weeks: int) -> Cohorts:
    """Customers grouped by the week of their first trusted purchase on the site (those the
    campaign acquired), with cumulative revenue per customer after 0..weeks-1 weeks since each
    customer's own first purchase. A cell whose week has not fully begun for the whole cohort
    (cohort week start + k weeks > now) is None."""
    members: dict[datetime, int] = defaultdict(int)
    for day, n in facts.customers.items():
        members[_monday(day)] += n
    revenue: dict[tuple[datetime, int], Decimal] = defaultdict(lambda: ZERO)
    apart: dict[str, tuple[int, Decimal]] = {}
    for line in facts.lines:
        amount = rates.convert(line.amount, line.currency)
        if amount is None:
            n, total = apart.get(line.currency, (0, ZERO))
            apart[line.currency] = (n + line.orders, total + line.amount)
            continue
        if line.weeks_since < weeks:
            revenue[(_monday(line.first_day), line.weeks_since)] += amount
    rows = []
    for cohort in sorted(members):
        size = members[cohort]
        running, cells = ZERO, []
        for k in range(weeks):
            running += revenue.get((cohort, k), ZERO)
            cells.append(to_cents(running / size) if cohort + k * WEEK <= now else None)
        rows.append(CohortRow(cohort, size, tuple(cells)))
    return Cohorts(
        currency=rates.currency,
        weeks=weeks,
        rows=tuple(rows),
        unconverted=tuple(
            UnconvertedRevenue(c, n, to_cents(a)) for c, (n, a) in sorted(apart.items())
        ),
    )
