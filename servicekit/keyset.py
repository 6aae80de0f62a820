"""Keyset pagination over (created_at, id), with cursors that clients treat as opaque.

Shared by the services' list endpoints; each passes the error its API answers a bad cursor with.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Keyed(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def created_at(self) -> datetime: ...


K = TypeVar("K", bound=Keyed)


@dataclass(frozen=True, slots=True)
class CursorKey:
    """The last item a page showed; the next page starts strictly after it."""

    created_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class Page(Generic[K]):
    items: list[K]
    next_cursor: str | None


def encode_cursor(key: CursorKey) -> str:
    raw = json.dumps([key.created_at.isoformat(), str(key.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, invalid: Callable[[], Exception]) -> CursorKey | None:
    """The key a cursor encodes; `invalid()` is raised for anything this API never handed out."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = CursorKey(datetime.fromisoformat(created), UUID(ident))
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise invalid() from exc
    if key.created_at.tzinfo is None:
        raise invalid()
    return key


def page_of(rows: Sequence[K], limit: int) -> Page[K]:
    """`rows` were fetched with `limit + 1`: the extra one only says another page exists."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return Page(items, None)
    last = items[-1]
    return Page(items, encode_cursor(CursorKey(last.created_at, last.id)))
