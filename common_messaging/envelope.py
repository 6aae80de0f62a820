"""The versioned envelope every message travels in."""

from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

P = TypeVar("P", bound=BaseModel)


class Envelope(BaseModel, Generic[P]):
    """Message id, schema name and version, producer and time, around one payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: UUID
    schema_name: str
    schema_version: int
    produced_at: datetime
    producer: str
    payload: P
