"""The campaign list's keyset pages (servicekit.keyset): newest first, opaque cursors."""

from dashboard_service.domain.models import CampaignPage, CampaignSummary
from dashboard_service.errors import InvalidCursor
from servicekit.keyset import DEFAULT_LIMIT, MAX_LIMIT, CursorKey
from servicekit.keyset import decode_cursor as _decode
from servicekit.keyset import page_of as _page_of

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "CursorKey", "decode_cursor", "page_of"]


def decode_cursor(cursor: str | None) -> CursorKey | None:
    return _decode(cursor, lambda: InvalidCursor("the cursor is not one this API handed out"))


def page_of(rows: list[CampaignSummary], limit: int) -> CampaignPage:
    """`rows` were fetched with `limit + 1`: the extra one only says another page exists."""
    page = _page_of(rows, limit)
    return CampaignPage(tuple(page.items), page.next_cursor)
