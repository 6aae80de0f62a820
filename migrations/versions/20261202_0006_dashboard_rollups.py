"""dashboard rollups: counts and visitor sketches per campaign bucket, counted entries

Revision ID: 20261202_0006
Revises: 20261202_0007
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_0006"
down_revision: str | None = "20261202_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("campaign_id", "span", "bucket_ts")


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("bucket_ts", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "rollup_counts",
        *_key_columns(),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("device_type", sa.String(length=16), nullable=False),
        sa.Column("is_new_user", sa.Boolean(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("form_submits", sa.BigInteger(), nullable=False),
        sa.Column("purchases", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("last_entry_ts", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            *_KEY, "activity_id", "device_type", "is_new_user", name=op.f("pk_rollup_counts")
        ),
    )
    op.create_table(
        "rollup_sketches",
        *_key_columns(),
        sa.Column("grp", sa.String(length=48), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, "grp", name=op.f("pk_rollup_sketches")),
    )
    op.create_index(
        "ix_rollup_counts_site_id", "rollup_counts", ["site_id", "span", "bucket_ts"]
    )
    op.create_index(
        "ix_rollup_sketches_site_id", "rollup_sketches", ["site_id", "grp", "span", "bucket_ts"]
    )
    op.create_table(
        "rollup_counted_entries",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_rollup_counted_entries")),
    )


def downgrade() -> None:
    op.drop_table("rollup_counted_entries")
    op.drop_index("ix_rollup_sketches_site_id", table_name="rollup_sketches")
    op.drop_table("rollup_sketches")
    op.drop_index("ix_rollup_counts_site_id", table_name="rollup_counts")
    op.drop_table("rollup_counts")
