"""Response models of the dashboard API, read straight from the domain's dataclasses."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


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


class TotalsOut(_Out):
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


class ActivityOut(_Out):
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


class TimelineBucketOut(_Out):
    bucket_start: datetime
    visits: int
    clicks: int
    purchases: int


class MetricsResponse(_Out):
    campaign: CampaignOut
    range: RangeOut
    totals: TotalsOut
    activities: list[ActivityOut]
    devices: list[DeviceOut]
    new_vs_returning: NewVsReturningOut
    timeline: list[TimelineBucketOut]
