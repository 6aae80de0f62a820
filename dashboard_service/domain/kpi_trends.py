"""Every KPI of a campaign view against the same-length period just before it."""

from dashboard_service.domain.models import Measures, Totals
from dashboard_service.domain.money import trend
from dashboard_service.domain.money_models import MoneyFigures, Trend


def _rate(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


# KPIs where a fall is the good news.
LOWER_IS_BETTER = frozenset({"cac", "cost_per_entry", "spend"})


def kpi_trends(
    now: Totals,
    previous: Measures,
    money_now: MoneyFigures | None,
    money_previous: MoneyFigures | None,
) -> dict[str, Trend]:
    pairs: dict[str, tuple[object, object]] = {
        "visits": (now.visits, previous.visits),
        "unique_visitors": (now.unique_visitors, previous.unique_visitors),
        "clicks": (now.clicks, previous.clicks),
        "click_rate": (now.click_rate, _rate(previous.clicks, previous.visits)),
        "purchases": (now.purchases, previous.purchases),
        "conversion_rate": (
            now.conversion_rate,
            _rate(previous.purchasers, previous.unique_visitors),
        ),
        "entries": (now.entries, previous.entries),
    }
    if money_now is not None and money_previous is not None:
        for name in (
            "gmv",
            "orders",
            "aov",
            "spend",
            "roas",
            "cac",
            "cost_per_entry",
            "new_customers",
        ):
            pairs[name] = (getattr(money_now, name), getattr(money_previous, name))
    return {
        name: trend(cur, prev, higher_is_better=name not in LOWER_IS_BETTER)  # type: ignore[arg-type]
        for name, (cur, prev) in pairs.items()
    }
