"""campaign money: site reporting currency, budgets, spend, purchase indices

Revision ID: 20261201_0005
Revises: 20261201_0004
Create Date: 2026-12-01 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0005"
down_revision: str | None = "20261201_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_money",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_money_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_money")),
    )
    op.create_table(
        "campaign_budgets",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("entered_amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("entered_currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount >= 0", name=op.f("ck_campaign_budgets_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_budgets_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_budgets")),
    )
    op.create_table(
        "campaign_spend",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("entered_amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("entered_currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_campaign_spend_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_spend_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_spend")),
        sa.UniqueConstraint("campaign_id", "period", name=op.f("uq_campaign_spend_campaign_id")),
    )
    op.create_index(
        "ix_purchases_campaign_occurred", "purchases", ["campaign_id", "occurred_at"]
    )
    op.create_index(
        "ix_purchases_site_user_occurred", "purchases", ["site_id", "user_id", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_purchases_site_user_occurred", table_name="purchases")
    op.drop_index("ix_purchases_campaign_occurred", table_name="purchases")
    op.drop_table("campaign_spend")
    op.drop_table("campaign_budgets")
    op.drop_table("site_money")
