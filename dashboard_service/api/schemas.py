"""Request and response models of the dashboard API, read straight from the domain's dataclasses."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CampaignOut(_Out):
    id: UUID
    name: str
    site_id: UUID
    starts_at: datetime | None
    ends_at: datetime | None
    status: str


class RangeOut(_Out):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    interval_seconds: int


class CapacityOut(_Out):
    """Entries against capacity: counted over every confirmed entry, whatever the filters."""

    capacity: int | None = Field(description="null when unlimited")
    confirmed_entries: int
    fill_rate: float | None = Field(description="confirmed entries / capacity; null if unlimited")
    sold_out: bool
    time_to_sell_out_seconds: int | None = Field(
        description="from the start (activity's, else campaign's) to the entry that filled it"
    )


class TotalsOut(CapacityOut):
    visits: int
    unique_visitors: int
    clicks: int
    form_submits: int
    purchases: int
    revenue: float
    click_rate: float
    conversion_rate: float
    new_users: int
    returning_users: int
    entries: int = Field(description="confirmed entries in the view (range and filters apply)")


class ActivityOut(CapacityOut):
    activity_id: UUID
    name: str
    type: str
    starts_at: datetime | None
    visits: int
    unique_visitors: int
    clicks: int
    click_rate: float
    purchases: int
    revenue: float
    conversion_rate: float
    entries: int = Field(description="confirmed entries in the view (range and filters apply)")
    last_entry_at: datetime | None
    gmv: Decimal | None = Field(
        description="trusted purchases in the reporting currency (docs/metrics.md)"
    )
    orders: int | None


class DeviceOut(_Out):
    device_type: str
    events: int
    unique_visitors: int


class VisitorGroupOut(_Out):
    visitors: int
    events: int


class NewVsReturningOut(_Out):
    new: VisitorGroupOut
    returning: VisitorGroupOut


class FunnelStageOut(_Out):
    stage: str = Field(description="visited, clicked, entered_or_purchased")
    visitors: int = Field(description="unique visitors who did this stage's action in the view")
    rate_from_previous: float
    rate_from_first: float


class TimelineBucketOut(_Out):
    bucket_start: datetime
    visits: int
    clicks: int
    purchases: int
    entries: int


class UnconvertedOut(_Out):
    currency: str
    orders: int
    amount: Decimal


class MoneyOut(_Out):
    """docs/metrics.md defines each figure. Amounts are in `currency`, the site's reporting
    currency; a ratio is null when its denominator is zero."""

    currency: str
    budget: Decimal | None
    spend: Decimal | None = Field(description="null for one activity: spend is per campaign")
    gmv: Decimal
    orders: int
    new_customers: int
    aov: Decimal | None
    roas: float | None
    cac: Decimal | None
    cost_per_entry: Decimal | None
    budget_used: float | None
    unconverted: list[UnconvertedOut] = Field(
        description="revenue in currencies without a rate: shown apart, never added to gmv"
    )


class TrendOut(_Out):
    current: float | None
    previous: float | None
    delta: float | None
    change: float | None = Field(description="delta / previous; null when previous is 0")
    direction: str | None = Field(description="up, down or flat")
    higher_is_better: bool


class ApproximationOut(_Out):
    approximate: bool = True
    relative_error: float = Field(description="bound of |estimate - exact| / exact, about 95 %")


def _approximations(value: object) -> object:
    if isinstance(value, dict):
        return {k: {"relative_error": v} if isinstance(v, float) else v for k, v in value.items()}
    return value


Approximations = Annotated[dict[str, ApproximationOut], BeforeValidator(_approximations)]


class MetricsResponse(_Out):
    campaign: CampaignOut
    range: RangeOut
    totals: TotalsOut
    activities: list[ActivityOut]
    devices: list[DeviceOut]
    new_vs_returning: NewVsReturningOut
    funnel: list[FunnelStageOut]
    timeline: list[TimelineBucketOut]
    previous_range: RangeOut | None = Field(
        description="the same-length period just before `range`, which `trends` compare with"
    )
    money: MoneyOut | None
    trends: dict[str, TrendOut]
    approximations: Approximations = Field(
        default_factory=dict,
        description="fields that are estimates (unique visitors from sketches), with the bound",
    )


class CampaignSummaryOut(CampaignOut):
    created_at: datetime
    activity_count: int


class CampaignListResponse(_Out):
    items: list[CampaignSummaryOut]
    next_cursor: str | None


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=512)


class SessionResponse(BaseModel):
    expires_at: datetime


class OverviewRowOut(_Out):
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
    budget_used: float | None = Field(description="spend in the range / budget")


class OverviewResponse(_Out):
    site_id: UUID
    currency: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    campaigns: list[OverviewRowOut]
    top_by_gmv: list[UUID] = Field(description="up to 5 campaign ids, highest GMV first")
    top_by_visits: list[UUID] = Field(description="up to 5 campaign ids, most visits first")
    gmv: Decimal
    spend: Decimal
    budget: Decimal
    unconverted: list[UnconvertedOut]
    approximations: Approximations = Field(default_factory=dict)


class CohortRowOut(_Out):
    week_start: datetime
    customers: int
    cumulative_revenue_per_customer: list[Decimal | None] = Field(
        description="after 0, 1, 2... weeks since each customer's first purchase; null where "
        "that week has not begun for the cohort"
    )


class CohortsResponse(_Out):
    currency: str
    weeks: int
    rows: list[CohortRowOut]
    unconverted: list[UnconvertedOut]
