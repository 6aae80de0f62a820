"""campaign entries: entries ledger, capacity guard, site signing secrets, entry summaries

Revision ID: 20261123_0002
Revises: 20261123_0001
Create Date: 2026-11-23 13:30:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0002"
down_revision: str | None = "20261123_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("user_slot", sa.Integer(), nullable=True),
        sa.Column("device_type", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"], ["activities.id"], name=op.f("fk_entries_activity_id_activities")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_entries_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entries")),
        sa.UniqueConstraint(
            "activity_id", "user_id", "idempotency_key", name="uq_entries_idempotency"
        ),
        sa.UniqueConstraint("activity_id", "user_id", "user_slot", name="uq_entries_user_slot"),
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index("ix_entries_activity_status", ["activity_id", "status"], unique=False)
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confirmed_count", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("user_summaries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("entry_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_entry_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_secret", sa.String(length=128), nullable=True))
    # Every existing site gets its own random secret before the column becomes required.
    sites = sa.table("sites", sa.column("id", sa.Uuid()), sa.column("signing_secret", sa.String))
    bind = op.get_bind()
    for (site_id,) in bind.execute(sa.select(sites.c.id)).all():
        bind.execute(
            sites.update()
            .where(sites.c.id == site_id)
            .values(signing_secret=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.alter_column("signing_secret", existing_type=sa.String(length=128), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("signing_secret")
    with op.batch_alter_table("user_summaries", schema=None) as batch_op:
        batch_op.drop_column("last_entry_at")
        batch_op.drop_column("entry_count")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("confirmed_count")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_activity_status")
    op.drop_table("entries")
