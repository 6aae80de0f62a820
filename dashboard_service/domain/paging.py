"""The campaign list's keyset pages: newest first, with cursors that clients treat as opaque."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from dashboard_service.domain.models import CampaignPage, CampaignSummary
from dashboard_service.errors import InvalidCursor

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class CursorKey:
    """The last campaign a page showed; the next page starts strictly after (older than) it."""

    created_at: datetime
    id: UUID


def encode_cursor(key: CursorKey) -> str:
    raw = json.dumps([key.created_at.isoformat(), str(key.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> CursorKey | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = CursorKey(datetime.fromisoformat(created), UUID(ident))
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidCursor("the cursor is not one this API handed out") from exc
    if key.created_at.tzinfo is None:
        raise InvalidCursor("the cursor is not one this API handed out")
    return key


def page_of(rows: list[CampaignSummary], limit: int) -> CampaignPage:
    """`rows` were fetched with `limit + 1`: the extra one only says another page exists."""
    items = tuple(rows[:limit])
    if len(rows) <= limit or not items:
        return CampaignPage(items, None)
    last = items[-1]
    return CampaignPage(items, encode_cursor(CursorKey(last.created_at, last.id)))
