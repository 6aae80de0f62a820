"""The catalog's keyset pages (servicekit.keyset), answering a bad cursor with InvalidCursor."""

from core_service.errors import InvalidCursor
from servicekit.keyset import DEFAULT_LIMIT, MAX_LIMIT, CursorKey, Page, encode_cursor, page_of
from servicekit.keyset import decode_cursor as _decode

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CursorKey",
    "Page",
    "decode_cursor",
    "encode_cursor",
    "page_of",
]


def decode_cursor(cursor: str | None) -> CursorKey | None:
    return _decode(cursor, InvalidCursor)
