"""Value objects of the dashboard domain: queries, raw aggregates and the assembled metrics."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from uuid import UUID

from common_messaging import DeviceType
from dashboard_service.domain.money_models import MoneyFigures, Trend

DEVICE_TYPES: tuple[DeviceType, ...] = tuple(DeviceType)


@dataclass(frozen=True)
class ActivityInfo:
    id: UUID
    name: str
    type: str
    capacity: int | None
    created_at: datetime
    starts_at: datetime | None = None


@dataclass(frozen=True)
class CampaignInfo:
    id: UUID
    name: str
    site_id: UUID
    starts_at: datetime | None
    ends_at: datetime | None
    status: str
    activities: tuple[ActivityInfo, ...] = ()


@dataclass(frozen=True)
class MetricsRequest:
    """What a caller asked for, before defaults are resolved."""

    campaign_id: UUID
    start: datetime | None = None
    end: datetime | None = None
    activity_id: UUID | None = None
    device_type: DeviceType | None = None
    new_user: bool | None = None


@dataclass(frozen=True)
class MetricsQuery:
    """A resolved query for the analytics store: epoch seconds, `start_ts <= ts < end_ts`."""

    campaign_id: UUID
    start_ts: int
    end_ts: int
    interval_seconds: int
    activity_id: UUID | None = None
    device_type: DeviceType | None = None
    new_user: bool | None = None
    # `[start, end)` epoch seconds of the period to compare with: its totals come back in
    # RawAggregates.previous_totals, computed in the same request to the engine.
    previous: tuple[int, int] | None = None


class MeasureSet(IntEnum):
    """How much of Measures a grouping carries; the fields it leaves out stay 0.

    Every measure is work for each event on Elasticsearch, so each grouping computes only what
    the dashboard shows of it: the totals and the activities everything, devices and new vs
    returning their counts and unique visitors, timeline buckets their counts.
    """

    COUNTS = 1  # events and the count of each type
    VISITORS = 2  # ... and unique visitors
    FULL = 3  # ... and revenue and purchasers


@dataclass(frozen=True)
class Measures:
    """The counts a grouping of the store reports (as much as its MeasureSet says)."""

    events: int = 0
    visits: int = 0
    clicks: int = 0
    form_submits: int = 0
    purchases: int = 0
    revenue: float = 0.0
    unique_visitors: int = 0
    purchasers: int = 0
    entries: int = 0
    # Set when unique visitors (and purchasers) are estimates: their relative error bound.
    visitors_error: float | None = None


@dataclass(frozen=True)
class FunnelCounts:
    """Unique visitors per funnel stage in the view: who viewed a page, who clicked, who entered
    or purchased. Each stage counts everyone who did its action (see domain/metrics.funnel)."""

    visited: int = 0
    clicked: int = 0
    converted: int = 0


@dataclass(frozen=True)
class EntryStats:
    """An activity's confirmed entries whatever the filters: how many, and the latest one's time."""

    entries: int
    last_entry_ts: int


@dataclass(frozen=True)
class RawAggregates:
    """Everything the store computed in one request; missing keys mean zero. Each grouping
    carries the MeasureSet of GROUPING_MEASURES."""

    totals: Measures = Measures()
    by_activity: dict[UUID, Measures] = field(default_factory=dict)
    by_device: dict[str, Measures] = field(default_factory=dict)
    by_new_user: dict[bool, Measures] = field(default_factory=dict)
    by_bucket: dict[int, Measures] = field(default_factory=dict)
    funnel: FunnelCounts = FunnelCounts()
    # Not filtered by range, device or new user: capacity is used up by every entry.
    entries_by_activity: dict[UUID, EntryStats] = field(default_factory=dict)
    # The totals (MeasureSet.FULL) of MetricsQuery.previous, with the same filters.
    previous_totals: Measures | None = None
    # Set when every unique-visitor figure is an estimate: their relative error bound.
    visitors_error: float | None = None


@dataclass(frozen=True)
class CapacityFigures:
    """Entries against capacity, from every confirmed entry (the filters do not apply)."""

    capacity: int | None
    confirmed_entries: int
    fill_rate: float | None  # None without a capacity
    sold_out: bool
    last_entry_at: datetime | None
    time_to_sell_out_seconds: int | None  # None until sold out, or without a start time


GROUPING_MEASURES: dict[str, MeasureSet] = {
    "totals": MeasureSet.FULL,
    "by_activity": MeasureSet.FULL,
    "by_device": MeasureSet.VISITORS,
    "by_new_user": MeasureSet.VISITORS,
    "by_bucket": MeasureSet.COUNTS,
}


@dataclass(frozen=True)
class Totals:
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
    entries: int
    capacity: int | None
    confirmed_entries: int
    fill_rate: float | None
    sold_out: bool
    time_to_sell_out_seconds: int | None


@dataclass(frozen=True)
class ActivityMetrics:
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
    entries: int
    capacity: int | None
    confirmed_entries: int
    fill_rate: float | None
    sold_out: bool
    last_entry_at: datetime | None
    time_to_sell_out_seconds: int | None
    # Trusted purchases in the reporting currency (docs/metrics.md); None without a money store.
    gmv: Decimal | None = None
    orders: int | None = None


@dataclass(frozen=True)
class DeviceMetrics:
    device_type: str
    events: int
    unique_visitors: int


@dataclass(frozen=True)
class VisitorGroup:
    visitors: int
    events: int


@dataclass(frozen=True)
class NewVsReturning:
    new: VisitorGroup
    returning: VisitorGroup


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    visitors: int
    rate_from_previous: float  # 1.0 for the first stage
    rate_from_first: float


@dataclass(frozen=True)
class TimelineBucket:
    bucket_start: datetime
    visits: int
    clicks: int
    purchases: int
    entries: int


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    interval_seconds: int


@dataclass(frozen=True)
class CampaignMetrics:
    campaign: CampaignInfo
    range: TimeRange
    totals: Totals
    activities: tuple[ActivityMetrics, ...]
    devices: tuple[DeviceMetrics, ...]
    new_vs_returning: NewVsReturning
    funnel: tuple[FunnelStage, ...]
    timeline: tuple[TimelineBucket, ...]
    # The period compared with (same length, just before); money and trends of every KPI.
    previous_range: TimeRange | None = None
    money: MoneyFigures | None = None
    trends: dict[str, Trend] = field(default_factory=dict)
    # The fields that are estimates, each with its relative error bound (about 95 %).
    approximations: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignSummary:
    """A row of the campaign list."""

    id: UUID
    name: str
    site_id: UUID
    starts_at: datetime | None
    ends_at: datetime | None
    status: str
    created_at: datetime
    activity_count: int


@dataclass(frozen=True)
class CampaignPage:
    items: tuple[CampaignSummary, ...]
    next_cursor: str | None
