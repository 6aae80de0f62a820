"""The catalog's entities (sites, campaigns, activities, event definitions) and their changes.

Entities are immutable: an update builds a new value, re-validates it whole, then saves it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict
from uuid import UUID

CampaignStatus = Literal["active", "paused", "archived"]
ActivityType = Literal["fcfs", "flash_sale", "raffle", "engagement"]
TriggerType = Literal["page_view", "click", "form_submit", "purchase", "custom"]
JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Site:
    id: UUID
    name: str
    site_key: str
    allowed_origins: tuple[str, ...]
    demo: bool
    active: bool
    created_at: datetime
    updated_at: datetime
    # HS256 key for the shoppers' user tokens the site's backend signs (admin API only).
    signing_secret: str = ""


@dataclass(frozen=True, slots=True)
class Campaign:
    id: UUID
    site_id: UUID
    name: str
    description: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    status: CampaignStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Activity:
    id: UUID
    campaign_id: UUID
    name: str
    type: ActivityType
    capacity: int | None
    per_user_limit: int
    starts_at: datetime | None
    ends_at: datetime | None
    conditions: JsonObject | None
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Trigger:
    type: TriggerType
    url_pattern: str | None = None
    selector: str | None = None


@dataclass(frozen=True, slots=True)
class EventDefinition:
    id: UUID
    site_id: UUID
    campaign_id: UUID | None
    activity_id: UUID | None
    name: str
    trigger: Trigger
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewSite:
    name: str
    allowed_origins: list[str]
    demo: bool = False


@dataclass(frozen=True, slots=True)
class NewCampaign:
    site_id: UUID
    name: str
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: CampaignStatus = "active"


@dataclass(frozen=True, slots=True)
class NewActivity:
    name: str
    type: ActivityType
    capacity: int | None = None
    per_user_limit: int = 1
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    conditions: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class NewDefinition:
    site_id: UUID
    name: str
    trigger: Trigger
    campaign_id: UUID | None = None
    activity_id: UUID | None = None
    active: bool = True


# Changes hold only the fields a PATCH sent: absent means "keep", None means "clear".
class SiteChanges(TypedDict, total=False):
    name: str
    allowed_origins: list[str]
    demo: bool
    active: bool


class CampaignChanges(TypedDict, total=False):
    name: str
    description: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    status: CampaignStatus


class ActivityChanges(TypedDict, total=False):
    name: str
    type: ActivityType
    capacity: int | None
    per_user_limit: int
    starts_at: datetime | None
    ends_at: datetime | None
    conditions: JsonObject | None
    active: bool


class DefinitionChanges(TypedDict, total=False):
    name: str
    trigger: Trigger
    campaign_id: UUID | None
    activity_id: UUID | None
    active: bool
