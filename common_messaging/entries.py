"""Payload models of the entry topics: reservations to confirm, and their decisions."""

from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common_messaging.events import DeviceInfo


class EntryStatus(StrEnum):
    RESERVED = "reserved"  # admitted by the gate; not won until Postgres confirms
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class EntryReason(StrEnum):
    """Stable codes shown to shoppers' browsers; never renamed, only added to."""

    NOT_STARTED = "not_started"
    ENDED = "ended"
    SOLD_OUT = "sold_out"
    ALREADY_ENTERED = "already_entered"
    NOT_ELIGIBLE = "not_eligible"
    INVALID_TOKEN = "invalid_token"
    RATE_LIMITED = "rate_limited"


class EntryRequested(BaseModel):
    """An attempt the gate answered with an entry id (entry_service -> core_service), keyed by
    activity: a reservation it admitted for the ledger to decide, or, with `refused` set, an
    attempt it refused (window, eligibility, capacity, per-user limit), sent so that the
    refusal is stored like every other decision and its entry id resolves forever."""

    SCHEMA_NAME: ClassVar[str] = "pulse.entry_requested"
    SCHEMA_VERSION: ClassVar[int] = 1

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: UUID
    site_id: UUID
    campaign_id: UUID
    activity_id: UUID
    user_id: str = Field(min_length=1, max_length=128)
    idempotency_key: str = Field(min_length=1, max_length=255)
    position: int | None = None
    requested_at: AwareDatetime
    device: DeviceInfo
    is_new_user: bool = False
    properties: dict[str, Any] = Field(default_factory=dict)
    refused: EntryReason | None = None
    detail: str | None = Field(default=None, max_length=500)


class EntryDecided(BaseModel):
    """The final answer Postgres gave a reservation (core_service -> anyone listening)."""

    SCHEMA_NAME: ClassVar[str] = "pulse.entry_decided"
    SCHEMA_VERSION: ClassVar[int] = 1

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: UUID
    site_id: UUID
    campaign_id: UUID
    activity_id: UUID
    user_id: str
    status: EntryStatus
    reason: EntryReason | None = None
    position: int | None = None
    decided_at: AwareDatetime
    detail: str | None = Field(default=None, max_length=500)
