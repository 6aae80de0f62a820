"""Keyset pagination on (created_at, id) for any table that has both columns."""

from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from core_service.domain.catalog_paging import CursorKey

S = TypeVar("S", bound=Select[Any])


def keyset(
    stmt: S,
    created_at: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[Any],
    after: CursorKey | None,
    limit: int,
) -> S:
    if after is not None:
        stmt = stmt.where(
            or_(
                created_at > after.created_at,
                and_(created_at == after.created_at, ident > after.id),
            )
        )
    return stmt.order_by(created_at, ident).limit(limit)
