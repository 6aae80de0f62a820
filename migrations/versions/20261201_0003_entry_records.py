"""entry records: every answer with an entry id is a row; only won entries claim their key

Refusals decided before or at the gate are now stored too, and an attempt refused under an
Idempotency-Key may be retried with that key, so the key is unique among confirmed rows only.

Revision ID: 20261201_0003
Revises: 20261123_0002
Create Date: 2026-12-01 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0003"
down_revision: str | None = "20261123_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONFIRMED_ONLY = sa.text("status = 'confirmed'")
_KEY = ["activity_id", "user_id", "idempotency_key"]


def upgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_entries_idempotency", type_="unique")
    op.create_index(
        "uq_entries_idempotency",
        "entries",
        _KEY,
        unique=True,
        postgresql_where=_CONFIRMED_ONLY,
        sqlite_where=_CONFIRMED_ONLY,
    )


def downgrade() -> None:
    op.drop_index("uq_entries_idempotency", table_name="entries")
    # Refusals may share a key with another row of their user; the old constraint allows one.
    entries = sa.table(
        "entries",
        sa.column("id", sa.Uuid()),
        sa.column("activity_id", sa.Uuid()),
        sa.column("user_id", sa.String),
        sa.column("idempotency_key", sa.String),
        sa.column("status", sa.String),
    )
    other = entries.alias("other")
    shares_key = sa.exists().where(
        *(other.c[c] == entries.c[c] for c in _KEY), other.c.id != entries.c.id
    )
    op.execute(entries.delete().where(entries.c.status == "rejected", shares_key))
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_entries_idempotency", _KEY)
