"""The one place messages are serialised to and parsed from JSON bytes."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from common_messaging.envelope import Envelope


class _Versioned(Protocol):
    SCHEMA_NAME: str
    SCHEMA_VERSION: int


P = TypeVar("P", bound=BaseModel)


class MessageDecodeError(ValueError):
    """Bytes that are not a valid envelope of the expected schema and version."""


def encode(payload: BaseModel, *, message_id: UUID, producer: str) -> bytes:
    """Wrap a payload model in its envelope and serialise it to compact JSON bytes."""
    schema: _Versioned = payload  # type: ignore[assignment]
    head = json.dumps(
        {
            "message_id": str(message_id),
            "schema_name": schema.SCHEMA_NAME,
            "schema_version": schema.SCHEMA_VERSION,
            "produced_at": datetime.now(UTC).isoformat(),
            "producer": producer,
        },
        separators=(",", ":"),
    )
    # The payload is serialised once, by pydantic's compiled serializer, and spliced in.
    return f'{head[:-1]},"payload":{payload.model_dump_json()}}}'.encode()


def encode_fields(
    payload: Mapping[str, Any],
    schema: type[BaseModel],
    *,
    message_id: UUID,
    producer: str,
    produced_at: datetime,
) -> bytes:
    """Wrap a payload given as the schema's fields, already validated by the producer, in its
    envelope: one pass of pydantic-core's serializer and no model built (the edge's hot path,
    one message per event). `decode` reads it as it reads `encode`'s output."""
    versioned: _Versioned = schema  # type: ignore[assignment]
    return to_json(
        {
            "message_id": message_id,
            "schema_name": versioned.SCHEMA_NAME,
            "schema_version": versioned.SCHEMA_VERSION,
            "produced_at": produced_at,
            "producer": producer,
            "payload": payload,
        }
    )


@cache
def _envelope_of(payload_type: type[BaseModel]) -> type[Envelope[BaseModel]]:
    # Subscripting a generic model is a lookup in pydantic's cache of parametrisations; the
    # consumer decodes every message, so it looks it up once per payload type.
    return Envelope[payload_type]  # type: ignore[valid-type]


def decode(raw: bytes, payload_type: type[P]) -> Envelope[P]:
    """Parse bytes into an envelope of `payload_type`, refusing other schemas and versions."""
    try:
        envelope: Envelope[P] = _envelope_of(payload_type).model_validate_json(raw)  # type: ignore[assignment]
    except ValidationError as exc:
        raise MessageDecodeError(summarise(exc)) from exc
    expected: _Versioned = payload_type  # type: ignore[assignment]
    if (envelope.schema_name, envelope.schema_version) != (
        expected.SCHEMA_NAME,
        expected.SCHEMA_VERSION,
    ):
        raise MessageDecodeError(
            f"unexpected schema {envelope.schema_name} v{envelope.schema_version}, "
            f"expected {expected.SCHEMA_NAME} v{expected.SCHEMA_VERSION}"
        )
    return envelope


def summarise(exc: ValidationError) -> str:
    """A validation error in one line: the first five faults, each with its location."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors()[:5]
    ]
    return "; ".join(parts)
