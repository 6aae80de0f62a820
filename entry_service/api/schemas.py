"""Response models of entry_service, for OpenAPI."""

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from common_messaging import EntryReason, EntryStatus


class RejectedEvent(BaseModel):
    index: int
    error: str


class BatchAccepted(BaseModel):
    accepted: int
    rejected: list[RejectedEvent]


class Trigger(BaseModel):
    type: str
    url_pattern: str | None
    selector: str | None


class PublicDefinition(BaseModel):
    id: str
    name: str
    trigger: Trigger
    campaign_id: str | None
    activity_id: str | None


class DefinitionsResponse(BaseModel):
    site_key: str
    definitions: list[PublicDefinition]


class EntryBody(BaseModel):
    """`POST /v1/activities/{activity_id}/entries`: who is entering (JSON or text/plain)."""

    model_config = ConfigDict(extra="forbid")

    user_token: str | None = Field(
        default=None,
        max_length=4096,
        description="HS256 JWT from the site's backend: `sub` = user id, `exp`; "
        "optional `traits` object.",
    )
    user_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="Demo sites only."
    )
    site_key: str | None = Field(default=None, max_length=64)
    anonymous_id: str | None = Field(default=None, max_length=128)
    properties: dict[str, Any] = Field(default_factory=dict, max_length=20)


class EntryOut(BaseModel):
    entry_id: UUID
    status: EntryStatus = Field(
        description="`confirmed` (won), `rejected` (see reason), or `reserved` "
        "(admitted, awaiting confirmation: poll GET /v1/entries/{entry_id})."
    )
    reason: EntryReason | None = None
    position: int | None = Field(default=None, description="Order of admission.")
    detail: str | None = Field(default=None, description="e.g. the failed condition.")
    activity_id: UUID | None = None
    reward: dict[str, Any] | None = Field(
        default=None,
        description="Only for the winner, with their user token as `Authorization: Bearer`: "
        "`{kind: coupon, status: issued, code}` (or `status: unavailable` when the pool ran "
        "out), or `{kind: product, price_minor, currency, expires_at, payment_status}`.",
    )
