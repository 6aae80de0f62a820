"""Request and response bodies of the admin API, and their mapping to domain commands.

Requests refuse unknown fields and naive datetimes. PATCH bodies carry only what changes:
a field left out is kept, `null` clears it where the field is nullable.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar, cast
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)

from core_service.domain import catalog_models as m
from core_service.domain.catalog_paging import Page
from servicekit.untrusted_json import check_text


def _no_control(value: str) -> str:
    if any(c < " " or c == "\x7f" for c in value):
        raise ValueError("must not contain control characters")
    return value


def _storable(value: str) -> str:
    check_text(value, "text")  # Postgres refuses NUL
    return value


# One line of text: no control characters (a NUL is refused by Postgres, the others by sense).
Line = Annotated[str, AfterValidator(_no_control)]
Name = Annotated[Line, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_storable)]
Origin = Annotated[Line, StringConstraints(min_length=1, max_length=300)]
# Bounded by the INTEGER columns they are stored in (Postgres and SQLite alike).
Positive = Annotated[StrictInt, Field(ge=1, le=2_147_483_647)]

URL_PATTERN_DOC = (
    "Glob where `*` matches any run of characters (including `/`). A pattern starting with "
    "`http://` or `https://` is matched against the full page URL; any other pattern "
    "(starting with `/` or `*`) is matched against the URL's path only. Null matches every page."
)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatchModel(RequestModel):
    """Refuses an explicit `null` for fields that have no "cleared" state."""

    @field_validator(
        "name",
        "active",
        "status",
        "type",
        "per_user_limit",
        "demo",
        "allowed_origins",
        "trigger",
        mode="before",
        check_fields=False,
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    def _changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T", bound=ResponseModel)


class Paged(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


# Sites


class SiteCreate(RequestModel):
    name: Name
    allowed_origins: list[Origin] = Field(
        max_length=100, description="'*' or scheme://host[:port] (http/https, no path)."
    )
    demo: StrictBool = False

    def command(self) -> m.NewSite:
        return m.NewSite(name=self.name, allowed_origins=self.allowed_origins, demo=self.demo)


class SitePatch(PatchModel):
    name: Name | None = None
    allowed_origins: list[Origin] | None = Field(default=None, max_length=100)
    demo: StrictBool | None = None
    active: StrictBool | None = None

    def changes(self) -> m.SiteChanges:
        return cast(m.SiteChanges, self._changes())


class SiteOut(ResponseModel):
    id: UUID
    name: str
    site_key: str
    allowed_origins: list[str]
    demo: bool
    active: bool
    signing_secret: str = Field(
        description="HS256 key the site's backend signs shoppers' user tokens with; keep secret."
    )
    created_at: datetime
    updated_at: datetime


# Campaigns


class CampaignCreate(RequestModel):
    site_id: UUID
    name: Name
    description: Description | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    status: m.CampaignStatus = "active"

    def command(self) -> m.NewCampaign:
        return m.NewCampaign(**dict(self))


class CampaignPatch(PatchModel):
    name: Name | None = None
    description: Description | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    status: m.CampaignStatus | None = None

    def changes(self) -> m.CampaignChanges:
        return cast(m.CampaignChanges, self._changes())


class CampaignOut(ResponseModel):
    id: UUID
    site_id: UUID
    name: str
    description: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    status: m.CampaignStatus
    created_at: datetime
    updated_at: datetime


# Activities


class ActivityCreate(RequestModel):
    name: Name
    type: m.ActivityType
    capacity: Positive | None = Field(
        default=None, description="Required for fcfs and flash_sale activities."
    )
    per_user_limit: Positive = 1
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    conditions: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Eligibility rule (see README: all/any/not over field comparisons), or null for none."
        ),
    )

    def command(self) -> m.NewActivity:
        return m.NewActivity(**dict(self))


class ActivityPatch(PatchModel):
    name: Name | None = None
    type: m.ActivityType | None = None
    capacity: Positive | None = None
    per_user_limit: Positive | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    conditions: dict[str, Any] | None = None
    active: StrictBool | None = None

    def changes(self) -> m.ActivityChanges:
        return cast(m.ActivityChanges, self._changes())


class ActivityOut(ResponseModel):
    id: UUID
    campaign_id: UUID
    name: str
    type: m.ActivityType
    capacity: int | None
    per_user_limit: int
    starts_at: datetime | None
    ends_at: datetime | None
    conditions: dict[str, Any] | None
    active: bool
    created_at: datetime
    updated_at: datetime


# Event definitions


class TriggerIn(RequestModel):
    type: m.TriggerType
    url_pattern: Line | None = Field(default=None, max_length=2048, description=URL_PATTERN_DOC)
    selector: Line | None = Field(
        default=None,
        max_length=1024,
        description="CSS selector; required for click and form_submit.",
    )

    def value(self) -> m.Trigger:
        return m.Trigger(type=self.type, url_pattern=self.url_pattern, selector=self.selector)


class DefinitionCreate(RequestModel):
    site_id: UUID
    campaign_id: UUID | None = None
    activity_id: UUID | None = Field(
        default=None, description="Given without campaign_id, the activity's campaign is used."
    )
    name: Name
    trigger: TriggerIn
    active: StrictBool = True

    def command(self) -> m.NewDefinition:
        return m.NewDefinition(
            site_id=self.site_id,
            campaign_id=self.campaign_id,
            activity_id=self.activity_id,
            name=self.name,
            trigger=self.trigger.value(),
            active=self.active,
        )


class DefinitionPatch(PatchModel):
    name: Name | None = None
    trigger: TriggerIn | None = None
    campaign_id: UUID | None = None
    activity_id: UUID | None = None
    active: StrictBool | None = None

    def changes(self) -> m.DefinitionChanges:
        changes = self._changes()
        if self.trigger is not None:
            changes["trigger"] = self.trigger.value()
        return cast(m.DefinitionChanges, changes)


class TriggerOut(ResponseModel):
    type: m.TriggerType
    url_pattern: str | None = Field(description=URL_PATTERN_DOC)
    selector: str | None


class DefinitionOut(ResponseModel):
    id: UUID
    site_id: UUID
    campaign_id: UUID | None
    activity_id: UUID | None
    name: str
    trigger: TriggerOut
    active: bool
    created_at: datetime
    updated_at: datetime


# User summaries


class UserSummaryOut(ResponseModel):
    site_id: UUID
    user_key: str = Field(description="`u:<user id>` or `a:<anonymous id>`.")
    first_seen_at: datetime
    last_seen_at: datetime
    event_count: int
    last_purchase_at: datetime | None
    purchase_count: int
    total_spent: Decimal = Field(
        description='Sum of the user\'s purchase amounts, as a decimal string (e.g. "19.99").'
    )
    entry_count: int = Field(description="Confirmed campaign entries.")
    last_entry_at: datetime | None


def paged(out: type[T], page: Page[Any]) -> Paged[T]:
    return Paged[out](  # type: ignore[valid-type]
        items=[out.model_validate(item) for item in page.items], next_cursor=page.next_cursor
    )
