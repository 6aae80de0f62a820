"""Bulk `INSERT ... ON CONFLICT` for whichever dialect the session speaks (Postgres, SQLite).

Two ways to send many rows in one statement:
- `insert_ignoring_conflicts`: an executemany; SQLAlchemy batches the rows into multi-row
  VALUES ("insertmanyvalues") from one cached compiled statement. Simple, fine for small batches.
- `bulk_insert` + `bulk_execute`: on Postgres, `INSERT ... SELECT ... FROM json_to_recordset(:rows)`
  with all rows in one JSON parameter, serialised by pydantic-core (Rust). The SQL text is
  short and the same for every batch, so neither SQLAlchemy nor psycopg re-renders or re-parses
  it, and psycopg adapts one string instead of thousands of values. With hundreds of rows,
  parsing a multi-row VALUES text (psycopg's `_split_query`) or adapting one array per column
  (psycopg's Python list dumper) cost more than the database's own work. On SQLite it is the
  executemany above.
"""

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    CursorResult,
    Insert,
    LargeBinary,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    cast,
    column,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

DialectInsert = postgresql.Insert | sqlite.Insert
S = TypeVar("S")
_reused: dict[tuple[str, str], Any] = {}


def _dialect(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no upsert for dialect {name}")
    return name


def dialect_insert(session: Session, table: Table) -> DialectInsert:
    """The session's dialect's INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE."""
    module: Any = postgresql if _dialect(session) == "postgresql" else sqlite
    insert: DialectInsert = module.insert(table)
    return insert


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
    column = table.c[returning] if returning else next(iter(table.primary_key.columns))
    stmt = dialect_insert(session, table).on_conflict_do_nothing().returning(column)
    return list(session.execute(stmt, [dict(r) for r in rows]).scalars().all())


def bulk_insert(session: Session, table: Table, columns: Sequence[str]) -> DialectInsert:
    """An INSERT of `columns` for `bulk_execute`; add ON CONFLICT and RETURNING to it.

    Column expressions in ON CONFLICT DO UPDATE use `stmt.excluded` as usual. Rows are inserted
    in the order given, which callers use to take row locks in a fixed order.
    """
    return _bulk_insert(_dialect(session), table, tuple(columns))


@lru_cache(maxsize=64)
def _bulk_insert(dialect: str, table: Table, columns: tuple[str, ...]) -> DialectInsert:
    if dialect == "sqlite":
        return sqlite.insert(table)
    # Postgres converts each JSON value with the column type's own input function.
    rows = (
        func.json_to_recordset(cast(bindparam("rows", type_=Text), JSON))
        .table_valued(*(column(name, table.c[name].type) for name in columns))
        .render_derived(with_types=True)
    )
    return postgresql.insert(table).from_select(
        list(columns), select(*(rows.c[name] for name in columns))
    )


def bulk_execute(
    session: Session, stmt: Insert, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> CursorResult[*tuple[Any, ...]]:
    """Run a `bulk_insert` statement for `rows` (each with exactly `columns`, at least one row)
    on the session's connection: one statement on Postgres, an executemany on SQLite."""
    if not rows:
        raise ValueError("bulk_execute needs at least one row")
    connection = session.connection()
    if _dialect(session) == "sqlite":
        return connection.execute(stmt, [dict(r) for r in rows])
    # UUIDs, datetimes (ISO 8601 with offset) and Decimals (as strings) go as Postgres reads them.
    values = [{name: r[name] for name in columns} for r in rows]
    table = stmt.table
    for name in columns:
        # A TypeDecorator's checks (e.g. UtcDateTime refusing naive datetimes) still apply.
        kind = table.c[name].type
        if isinstance(kind, TypeDecorator):
            for value in values:
                value[name] = kind.process_bind_param(value[name], connection.dialect)
        elif isinstance(kind, LargeBinary):
            # bytea's text input: JSON has no bytes.
            for value in values:
                data = value[name]
                value[name] = None if data is None else "\\x" + bytes(data).hex()
    return connection.execute(stmt, {"rows": to_json(values).decode()})


def reused(session: Session, name: str, build: Callable[[Session], S]) -> S:
    """The statement `name` for the session's dialect: built by `build` once, then reused.

    SQLAlchemy memoises a statement object's cache key; a statement built anew for every batch
    costs a walk over its whole tree (columns, ON CONFLICT clause, expressions) at every
    execution before the compiled form is found in the cache. `name` must stand for one shape.
    """
    key = (_dialect(session), name)
    stmt = _reused.get(key)
    if stmt is None:
        stmt = _reused[key] = build(session)
    return stmt
