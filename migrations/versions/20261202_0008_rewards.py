"""rewards: coupon pools, product holds, payment records, sites' payment webhook secrets

Revision ID: 20261202_0008
Revises: 20261202_0006
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_0008"
down_revision: str | None = "20261202_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "activity_rewards",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("hold_ttl_s", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('coupon', 'product')", name=op.f("ck_activity_rewards_kind_known")
        ),
        sa.CheckConstraint(
            "price_minor IS NULL OR price_minor > 0",
            name=op.f("ck_activity_rewards_price_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_activity_rewards_activity_id_activities"),
        ),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_activity_rewards")),
    )
    op.create_table(
        "coupon_codes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_coupon_codes_activity_id_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_coupon_codes_entry_id_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_codes")),
        sa.UniqueConstraint("activity_id", "code", name=op.f("uq_coupon_codes_activity_id")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_coupon_codes_entry_id")),
    )
    op.create_index(
        "ix_coupon_codes_activity_free", "coupon_codes", ["activity_id", "entry_id"]
    )
    op.create_table(
        "reward_holds",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_id", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "status IN ('held', 'paid', 'expired', 'failed')",
            name=op.f("ck_reward_holds_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_reward_holds_activity_id_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_reward_holds_entry_id_entries")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_reward_holds_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_reward_holds")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_reward_holds_payment_id")),
    )
    op.create_index(
        "ix_reward_holds_status_expires", "reward_holds", ["status", "expires_at"]
    )
    op.create_index(
        "ix_reward_holds_activity_status", "reward_holds", ["activity_id", "status"]
    )
    op.create_table(
        "payment_records",
        sa.Column("payment_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_payment_records_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("payment_id", "kind", name=op.f("pk_payment_records")),
    )
    op.create_table(
        "site_payment_settings",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("webhook_secret", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_payment_settings_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_payment_settings")),
    )


def downgrade() -> None:
    op.drop_table("site_payment_settings")
    op.drop_table("payment_records")
    op.drop_index("ix_reward_holds_activity_status", table_name="reward_holds")
    op.drop_index("ix_reward_holds_status_expires", table_name="reward_holds")
    op.drop_table("reward_holds")
    op.drop_index("ix_coupon_codes_activity_free", table_name="coupon_codes")
    op.drop_table("coupon_codes")
    op.drop_table("activity_rewards")
