"""Value objects of the dashboard domain: queries, raw aggregates and the assembled metrics."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

DeviceType = Literal["mobile", "desktop", "tablet", "bot", "other"]
DEVICE_TYPES: tuple[DeviceType, ...] = ("mobile", "desktop", "tablet", "bot", "other")


@dataclass(frozen=True)
class ActivityInfo:
    id: UUID
    name: str
    type: str
    capacity: int | None
    created_at: datetime


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


@dataclass(frozen=True)
class Measures:
    """The counts every grouping of the store reports."""

    events: int = 0
    visits: int = 0
    clicks: int = 0
    form_submits: int = 0
    purchases: int = 0
    revenue: float = 0.0
    unique_visitors: int = 0
    purchasers: int = 0


@dataclass(frozen=True)
class RawAggregates:
    """Everything the store computed in one request; missing keys mean zero."""

    totals: Measures = Measures()
    by_activity: dict[UUID, Measures] = field(default_factory=dict)
    by_device: dict[str, Measures] = field(default_factory=dict)
    by_new_user: dict[bool, Measures] = field(default_factory=dict)
    by_bucket: dict[int, Measures] = field(default_factory=dict)


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


@dataclass(frozen=True)
class ActivityMetrics:
    activity_id: UUID
    name: str
    type: str
    capacity: int | None
    visits: int
    unique_visitors: int
    clicks: int
    click_rate: float
    purchases: int
    revenue: float
    conversion_rate: float


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
class TimelineBucket:
    bucket_start: datetime
    visits: int
    clicks: int
    purchases: int


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
    timeline: tuple[TimelineBucket, ...]
