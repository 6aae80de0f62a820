"""Value objects of the money views: what the money store reads, and the figures computed."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from common_messaging.currency import CurrencyRates


@dataclass(frozen=True)
class RevenueLine:
    """Trusted purchases of one activity (None: no activity) in one currency, in a range."""

    activity_id: UUID | None
    currency: str
    orders: int
    amount: Decimal


@dataclass(frozen=True)
class PurchaseFacts:
    lines: tuple[RevenueLine, ...] = ()
    # Customers whose first trusted purchase on the site is in this campaign, in the range.
    new_customers: int = 0


@dataclass(frozen=True)
class SpendFact:
    period: str  # "total" or a UTC day, YYYY-MM-DD
    amount: Decimal  # reporting currency


@dataclass(frozen=True)
class MoneySettings:
    """A campaign's money as staff entered it (amounts already in the reporting currency)."""

    rates: CurrencyRates
    budget: Decimal | None
    spend: tuple[SpendFact, ...]


@dataclass(frozen=True)
class UnconvertedRevenue:
    """Purchases in a currency the site has no rate for: shown apart, never added."""

    currency: str
    orders: int
    amount: Decimal


@dataclass(frozen=True)
class MoneyFigures:
    """A view's money in the reporting currency; a ratio is None when its denominator is 0."""

    currency: str
    budget: Decimal | None
    spend: Decimal | None  # None when the view is one activity: spend is per campaign
    gmv: Decimal
    orders: int
    new_customers: int
    aov: Decimal | None
    roas: float | None
    cac: Decimal | None
    cost_per_entry: Decimal | None
    budget_used: float | None
    unconverted: tuple[UnconvertedRevenue, ...]


@dataclass(frozen=True)
class Trend:
    """One KPI against the same-length period just before the view."""

    current: float | None
    previous: float | None
    delta: float | None
    change: float | None  # delta / previous; None when previous is 0 or unknown
    direction: str | None  # "up", "down", "flat"; None when either side is unknown
    higher_is_better: bool


@dataclass(frozen=True)
class CohortLine:
    """Trusted purchases on the site of the customers the campaign acquired (their first trusted
    purchase on the site was the campaign's), summed per UTC day of that first purchase, whole
    weeks since it (floor of the time between them over 7 days) and currency."""

    first_day: date
    weeks_since: int
    currency: str
    orders: int
    amount: Decimal


@dataclass(frozen=True)
class CohortFacts:
    customers: Mapping[date, int]  # customers acquired per UTC day of their first purchase
    lines: tuple[CohortLine, ...]


@dataclass(frozen=True)
class CohortRow:
    week_start: datetime
    customers: int
    # Cumulative revenue per customer after 0, 1, 2... weeks; None where the week is in the
    # future for this cohort (the triangle's empty corner).
    cumulative_revenue_per_customer: tuple[Decimal | None, ...]


@dataclass(frozen=True)
class Cohorts:
    currency: str
    weeks: int
    rows: tuple[CohortRow, ...]
    unconverted: tuple[UnconvertedRevenue, ...]


@dataclass(frozen=True)
class CampaignMoneyTotals:
    """One campaign's money over a range, for the site overview."""

    campaign_id: UUID
    name: str
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    budget: Decimal | None
    spend: tuple[SpendFact, ...]
    lines: tuple[RevenueLine, ...]


@dataclass(frozen=True)
class OverviewRow:
    campaign_id: UUID
    name: str
    status: str
    visits: int
    unique_visitors: int
    gmv: Decimal
    orders: int
    budget: Decimal | None
    spend: Decimal
    roas: float | None
    budget_used: float | None


@dataclass(frozen=True)
class SiteOverview:
    site_id: UUID
    currency: str
    start: datetime
    end: datetime
    campaigns: tuple[OverviewRow, ...]
    top_by_gmv: tuple[UUID, ...]
    top_by_visits: tuple[UUID, ...]
    gmv: Decimal
    spend: Decimal
    budget: Decimal
    unconverted: tuple[UnconvertedRevenue, ...]
    # The fields that are estimates, each with its relative error bound (about 95 %).
    approximations: dict[str, float] = field(default_factory=dict)
