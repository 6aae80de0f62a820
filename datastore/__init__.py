"""The relational store every service shares: the schema (`schema`) and the engine (`engine`).

Alembic's revisions that create this schema live in `migrations/`.
"""
