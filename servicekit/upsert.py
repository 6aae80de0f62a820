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
    stmt = module.insert(table).values(list(rows)).on_conflict_do_nothing()
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
