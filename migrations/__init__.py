"""Pulse's relational schema (SQLAlchemy models) and its Alembic migrations.

`schema` holds the tables, `engine.make_engine` builds an engine for SQLite or Postgres, and
`runner.upgrade` brings a database to the latest revision.
"""
