"""Money in a site's reporting currency: one currency per site, others only through a rate.

Shared by core_service (budgets and spend are converted when staff enter them) and
dashboard_service (purchase amounts are converted when a view is computed). An amount in a
currency the site has no rate for is never added to the others: `convert` answers None and the
caller refuses it (core) or reports it apart (dashboard).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

# A site that never set its currency reports in this one (docs/metrics.md).
DEFAULT_REPORTING_CURRENCY: Final = "USD"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
CENT: Final = Decimal("0.01")


@dataclass(frozen=True)
class CurrencyRates:
    """`rates[c]`: units of `currency` per one unit of `c`."""

    currency: str = DEFAULT_REPORTING_CURRENCY
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def convert(self, amount: Decimal, currency: str) -> Decimal | None:
        """`amount` of `currency` in the reporting currency, unrounded; None without a rate."""
        if currency == self.currency:
            return amount
        rate = self.rates.get(currency)
        return None if rate is None else amount * rate


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def rates_from_json(currency: str, raw: Mapping[str, str]) -> CurrencyRates:
    """The stored form (rates as decimal strings, exact) back into CurrencyRates."""
    return CurrencyRates(currency, {code: Decimal(value) for code, value in raw.items()})
