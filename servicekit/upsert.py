"""`INSERT ... ON CONFLICT DO NOTHING` for whichever dialect the session speaks."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# SQLite allows 32766 bound parameters per statement; stay well under it on every backend.
_MAX_PARAMS = 30_000


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: str | None = None,
) -> list[Any]:
    """Insert rows, skipping those that hit a unique constraint.

    Returns, for the rows actually inserted, the `returning` column (the first primary-key
    column by default). RETURNING is used rather than rowcount: drivers report no reliable
    rowcount for multi-row inserts.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    module: Any = postgresql if dialect == "postgresql" else sqlite
    column = table.c[returning] if returning else next(iter(table.primary_key.columns))
    per_chunk = max(1, _MAX_PARAMS // max(1, len(rows[0])))
    inserted: list[Any] = []
    for start in range(0, len(rows), per_chunk):
        chunk = list(rows[start : start + per_chunk])
        stmt = module.insert(table).values(chunk).on_conflict_do_nothing().returning(column)
        inserted.extend(session.execute(stmt).scalars().all())
    return inserted
