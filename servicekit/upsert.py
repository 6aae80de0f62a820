"""`INSERT ... ON CONFLICT DO NOTHING` for whichever dialect the session speaks."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: str | None = None,
) -> list[Any]:
    """Insert rows, skipping those that hit a unique constraint.

    Returns, for the rows actually inserted, the `returning` column (the first primary-key
    column by default); RETURNING, because drivers report no reliable rowcount for batches.
    The statement is the same for every batch, so SQLAlchemy compiles it once and sends the
    rows as "insertmanyvalues" batches, rather than one huge VALUES clause per call.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    module: Any = postgresql if dialect == "postgresql" else sqlite
    column = table.c[returning] if returning else next(iter(table.primary_key.columns))
    stmt = module.insert(table).on_conflict_do_nothing().returning(column)
    return list(session.execute(stmt, [dict(r) for r in rows]).scalars().all())
