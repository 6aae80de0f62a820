"""The public shape of a posted batch and of each event in it."""

import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from common_messaging import EventType, PurchaseInfo
from servicekit.untrusted_json import check_properties, check_text

_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


class IncomingBatch(BaseModel):
    """Validated first, so one bad event never sinks the batch: events stay raw here."""

    model_config = ConfigDict(extra="forbid")

    site_key: str = Field(min_length=1, max_length=64)
    sent_at: AwareDatetime | None = None
    user_token: str | None = Field(default=None, min_length=1, max_length=4096)
    events: list[Any] = Field(min_length=1)


class IncomingEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: UUID
    definition_id: UUID | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: EventType
    occurred_at: AwareDatetime
    anonymous_id: str = Field(min_length=1, max_length=128)
    user_id: str | None = Field(default=None, min_length=1, max_length=128)
    session_id: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, max_length=2048)
    referrer: str | None = Field(default=None, max_length=2048)
    user_agent: str | None = Field(default=None, max_length=1024)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("anonymous_id", "user_id", "session_id")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        # One regex scan (C) rather than a Python loop per character: on the edge's hot path.
        if value is not None and _CONTROL_CHARACTER.search(value) is not None:
            raise ValueError("must not contain control characters")
        return value

    @field_validator("name", "url", "referrer", "user_agent")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None:
            check_text(value, "text")
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_properties(value)
        return value

    @model_validator(mode="after")
    def _named(self) -> "IncomingEvent":
        if self.definition_id is None and self.name is None:
            raise ValueError("give definition_id or name")
        if self.type is EventType.ENTRY:
            raise ValueError("entries are made with POST /v1/activities/{activity_id}/entries")
        return self

    def purchase(self) -> PurchaseInfo:
        """Purchase events carry order_id, amount and currency in their properties."""
        return PurchaseInfo.model_validate(
            {k: self.properties.get(k) for k in ("order_id", "amount", "currency")}
        )


class EventTimeRefused(ValueError):
    """The event's time cannot be stored: out of the accepted window, or not a real time."""


def corrected_time(
    occurred_at: datetime,
    sent_at: datetime | None,
    received_at: datetime,
    *,
    max_age: timedelta,
    max_ahead: timedelta,
) -> datetime:
    """Correct the client's clock skew as Segment does, then bound the result.

    Older than `max_age` is refused (as the big collectors do: late data would reopen closed
    months and create an index per past month); more than `max_ahead` in the future after the
    correction is refused too; a smaller lead is clamped to the receive time.
    """
    try:
        if sent_at is not None:
            occurred_at = received_at - (sent_at - occurred_at)
    except OverflowError as exc:
        raise EventTimeRefused("invalid_time: occurred_at and sent_at are too far apart") from exc
    if occurred_at < received_at - max_age:
        raise EventTimeRefused(
            f"too_old: occurred more than {max_age.days} days before it was received"
        )
    if occurred_at > received_at + max_ahead:
        raise EventTimeRefused(
            f"in_future: occurred {occurred_at.isoformat()}, after the receive time "
            f"{received_at.isoformat()} even with the batch's sent_at"
        )
    return min(occurred_at, received_at)


class TypedBatch(BaseModel):
    """The common case, parsed and validated in one pass over the raw body (pydantic-core):
    every event valid. Any fault sends the body through `IncomingBatch` and per-event checks,
    which say which events were wrong."""

    model_config = ConfigDict(extra="forbid")

    site_key: str = Field(min_length=1, max_length=64)
    sent_at: AwareDatetime | None = None
    user_token: str | None = Field(default=None, min_length=1, max_length=4096)
    events: list[IncomingEvent] = Field(min_length=1)
