"""cohort cells kept at write time: each customer's first trusted purchase, cohort sizes and cells

Revision ID: 20261202_0010
Revises: 20261202_0009
Create Date: 2026-12-02 07:30:00

Backfilled from the trusted purchases already stored, as the writer
(core_service.adapters.cohort_cells) keeps them: a customer's first purchase is the earliest
(at one instant, the lower event id); sizes per (campaign, UTC day of it); cells per (campaign,
that day, whole weeks since it, currency) with orders and amounts in hundredths. Computed here in
Python on both engines (a revision must not change when the code does, so it imports none).
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_0010"
down_revision: str | None = "20261202_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WEEK = timedelta(weeks=1)
_ROWS_PER_INSERT = 1000

_purchases = sa.table(
    "purchases",
    sa.column("event_id", sa.Uuid()),
    sa.column("site_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("campaign_id", sa.Uuid()),
    sa.column("amount", sa.Numeric(14, 2)),
    sa.column("currency", sa.String(3)),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("trusted", sa.Boolean()),
)


def upgrade() -> None:
    op.create_table(
        "cohort_customers",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_cohort_customers")),
    )
    op.create_index(
        "ix_cohort_customers_campaign_first", "cohort_customers", ["campaign_id", "first_at"]
    )
    sizes = op.create_table(
        "cohort_sizes",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "first_day", name=op.f("pk_cohort_sizes")),
    )
    cells = op.create_table(
        "cohort_cells",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("weeks_since", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign_id", "first_day", "weeks_since", "currency", name=op.f("pk_cohort_cells")
        ),
    )
    _backfill(op.get_bind(), sizes, cells)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _backfill(conn: sa.Connection, sizes: sa.Table | None, cells: sa.Table | None) -> None:
    assert sizes is not None and cells is not None
    customers = sa.table(
        "cohort_customers",
        *(sa.column(n, sa.Uuid()) for n in ("user_id", "site_id", "campaign_id", "event_id")),
        sa.column("first_at", sa.DateTime(timezone=True)),
    )
    p = _purchases.c
    # Streamed (a server-side cursor on Postgres); the option on the statement, not the
    # connection, which would keep it for every later statement of the migration.
    rows = conn.execute(
        sa.select(
            p.user_id, p.site_id, p.campaign_id, p.event_id, p.occurred_at, p.amount, p.currency
        )
        .where(p.trusted.is_(True))
        .order_by(p.user_id)
        .execution_options(yield_per=5000)
    )
    size: dict[tuple[UUID, date], int] = defaultdict(int)
    cell: dict[tuple[UUID, date, int, str], list[int]] = defaultdict(lambda: [0, 0])
    records: list[dict[str, Any]] = []

    def close(bought: list[tuple[Any, ...]]) -> None:
        user_id, site_id, campaign_id, event_id, first_at, _, _ = min(
            bought, key=lambda b: (b[4], b[3])
        )
        records.append(
            {"user_id": user_id, "site_id": site_id, "campaign_id": campaign_id,
             "first_at": first_at, "event_id": event_id}
        )  # fmt: skip
        if len(records) >= _ROWS_PER_INSERT:
            conn.execute(sa.insert(customers), records)
            records.clear()
        if campaign_id is None:
            return
        day = first_at.date()
        size[(campaign_id, day)] += 1
        for *_, at, amount, currency in bought:
            totals = cell[(campaign_id, day, (at - first_at) // _WEEK, currency)]
            totals[0] += 1
            totals[1] += int(amount * 100)

    bought: list[tuple[Any, ...]] = []
    for user_id, site_id, campaign_id, event_id, at, amount, currency in rows:
        if bought and bought[0][0] != user_id:
            close(bought)
            bought = []
        bought.append((user_id, site_id, campaign_id, event_id, _utc(at), amount, currency))
    if bought:
        close(bought)
    if records:
        conn.execute(sa.insert(customers), records)
    size_rows = [{"campaign_id": c, "first_day": d, "customers": n} for (c, d), n in size.items()]
    cell_rows = [
        {"campaign_id": c, "first_day": d, "weeks_since": k, "currency": cur, "orders": n,
         "amount_cents": cents}
        for (c, d, k, cur), (n, cents) in cell.items()
    ]  # fmt: skip
    for at in range(0, len(size_rows), _ROWS_PER_INSERT):
        conn.execute(sa.insert(sizes), size_rows[at : at + _ROWS_PER_INSERT])
    for at in range(0, len(cell_rows), _ROWS_PER_INSERT):
        conn.execute(sa.insert(cells), cell_rows[at : at + _ROWS_PER_INSERT])


def downgrade() -> None:
    op.drop_table("cohort_cells")
    op.drop_table("cohort_sizes")
    op.drop_index("ix_cohort_customers_campaign_first", table_name="cohort_customers")
    op.drop_table("cohort_customers")
