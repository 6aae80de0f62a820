"""`INSERT ... ON CONFLICT DO NOTHING` for whichever dialect the session speaks."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert rows, skipping those that hit a unique constraint; returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    # RETURNING, not rowcount: drivers report no reliable rowcount for multi-row inserts.
    stmt = (
        module.insert(table)
        .values(list(rows))
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )
    return len(session.execute(stmt).all())
