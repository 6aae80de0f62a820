"""Response models of entry_service, for OpenAPI."""

from pydantic import BaseModel


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
