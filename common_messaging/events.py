"""Payload models of the events topic."""

from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common_messaging.visitors import visitor_key


class EventType(StrEnum):
    PAGE_VIEW = "page_view"
    CLICK = "click"
    FORM_SUBMIT = "form_submit"
    PURCHASE = "purchase"
    CUSTOM = "custom"
    # A confirmed campaign entry: written by core_service on confirmation, never posted by clients.
    ENTRY = "entry"


class DeviceType(StrEnum):
    MOBILE = "mobile"
    DESKTOP = "desktop"
    TABLET = "tablet"
    BOT = "bot"
    OTHER = "other"


class DeviceInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    device_type: DeviceType
    browser: str | None = None
    os: str | None = None


class PurchaseInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str = Field(min_length=1, max_length=128)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


NO_DEVICE = DeviceInfo(device_type=DeviceType.OTHER)


class EventOccurred(BaseModel):
    """One validated occurrence of a tracked event (entry_service -> core_service).

    The edge publishes it collected, not enriched (`enriched` false): the browser's
    `user_agent` string, and neither `device` nor `is_new_user` decided yet. core_service's
    store path enriches a batch at a time (core_service/domain/enrichment.py) before anything
    reads those two fields. Messages from an older edge arrive enriched already (the defaults).
    """

    SCHEMA_NAME: ClassVar[str] = "pulse.event_occurred"
    SCHEMA_VERSION: ClassVar[int] = 1

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    site_id: UUID
    definition_id: UUID | None = None
    campaign_id: UUID | None = None
    activity_id: UUID | None = None
    name: str
    type: EventType
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    anonymous_id: str
    user_id: str | None = None
    session_id: str | None = None
    url: str | None = None
    referrer: str | None = None
    device: DeviceInfo = NO_DEVICE
    is_new_user: bool = False
    # The user agent the device is parsed from: the event's own, else the request's header.
    user_agent: str | None = None
    enriched: bool = True
    purchase: PurchaseInfo | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    # The site vouched for this event (server to server with its secret, or with the user's
    # signed token); a browser's event alone is not. Only trusted purchases move the user
    # summary's purchase facts (docs/reliability.md, "Trusted facts").
    trusted: bool = False

    @property
    def visitor_key(self) -> str:
        """The identity events are counted under: the site's user id when known."""
        return visitor_key(self.user_id, self.anonymous_id)
