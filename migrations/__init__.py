"""Pulse's Alembic migrations: `runner.upgrade` brings a database to the latest revision.

The tables themselves are `datastore.schema`; the engine is `datastore.engine.make_engine`.
"""
