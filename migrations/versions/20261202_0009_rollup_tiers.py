"""dashboard rollups: a 10-minute tier, and every confirmed entry per activity in one row

Revision ID: 20261202_0009
Revises: 20261202_0008
Create Date: 2026-12-02 04:10:00

The rollups written before this revision are carried over: 10-minute count rows summed from the
minute rows, 10-minute sketches merged from the minute sketches (Apache DataSketches, as the
writer does), and the entry totals summed from the hour rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from datasketches import hll_sketch, hll_union, tgt_hll_type

revision: str = "20261202_0009"
down_revision: str | None = "20261202_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MINUTE, _TEN_MINUTES, _HOUR = 60, 600, 3600
_LG_K = 14  # rollups.sketches.LG_K: a revision must not change when the code does
_COUNTS = "events, visits, clicks, form_submits, purchases, entries, revenue"


def upgrade() -> None:
    op.create_table(
        "rollup_entry_totals",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("last_entry_ts", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            "campaign_id", "activity_id", name=op.f("pk_rollup_entry_totals")
        ),
    )
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "INSERT INTO rollup_entry_totals (campaign_id, activity_id, entries, last_entry_ts) "
            "SELECT campaign_id, activity_id, sum(entries), max(last_entry_ts) FROM rollup_counts "
            "WHERE span = :hour AND entries > 0 GROUP BY campaign_id, activity_id"
        ),
        {"hour": _HOUR},
    )
    sums = ", ".join(f"sum({name})" for name in _COUNTS.split(", "))
    conn.execute(
        sa.text(
            "INSERT INTO rollup_counts (campaign_id, span, bucket_ts, activity_id, device_type, "
            f"is_new_user, site_id, {_COUNTS}, last_entry_ts) "
            "SELECT campaign_id, :ten, bucket_ts - bucket_ts % :ten, activity_id, device_type, "
            f"is_new_user, min(site_id), {sums}, max(last_entry_ts) FROM rollup_counts "
            "WHERE span = :minute GROUP BY campaign_id, bucket_ts - bucket_ts % :ten, "
            "activity_id, device_type, is_new_user"
        ).bindparams(ten=_TEN_MINUTES, minute=_MINUTE)
        if conn.dialect.name == "sqlite"
        else sa.text(
            "INSERT INTO rollup_counts (campaign_id, span, bucket_ts, activity_id, device_type, "
            f"is_new_user, site_id, {_COUNTS}, last_entry_ts) "
            "SELECT campaign_id, :ten, bucket_ts - bucket_ts % :ten, activity_id, device_type, "
            f"is_new_user, (array_agg(site_id))[1], {sums}, max(last_entry_ts) "
            "FROM rollup_counts WHERE span = :minute GROUP BY campaign_id, "
            "bucket_ts - bucket_ts % :ten, activity_id, device_type, is_new_user"
        ).bindparams(ten=_TEN_MINUTES, minute=_MINUTE)
    )
    _merge_minute_sketches(conn)


def _merge_minute_sketches(conn: sa.Connection) -> None:
    """One 10-minute sketch per (campaign, 10 minutes, group), the union of its minutes'."""
    campaigns = conn.execute(sa.text("SELECT DISTINCT campaign_id FROM rollup_sketches")).all()
    for (campaign_id,) in campaigns:
        rows = conn.execute(
            sa.text(
                "SELECT campaign_id, bucket_ts - bucket_ts % :ten AS b, grp, site_id, sketch "
                "FROM rollup_sketches WHERE campaign_id = :c AND span = :minute ORDER BY b, grp"
            ),
            {"ten": _TEN_MINUTES, "minute": _MINUTE, "c": campaign_id},
        ).all()
        _insert_unions(conn, rows)


def _insert_unions(conn: sa.Connection, rows: Sequence[sa.Row[tuple[object, ...]]]) -> None:
    insert = sa.text(
        "INSERT INTO rollup_sketches (campaign_id, span, bucket_ts, grp, site_id, sketch) "
        "VALUES (:campaign_id, :span, :bucket_ts, :grp, :site_id, :sketch)"
    )
    key: tuple[object, ...] | None = None
    union = hll_union(_LG_K)
    site: object = None
    batch: list[dict[str, object]] = []

    def flush_key() -> None:
        if key is not None:
            sketch = union.get_result(tgt_hll_type.HLL_8).serialize_compact()
            batch.append(dict(zip(("campaign_id", "bucket_ts", "grp"), key, strict=True)))
            batch[-1].update(span=_TEN_MINUTES, site_id=site, sketch=bytes(sketch))

    for campaign_id, bucket, grp, site_id, stored in rows:
        if (campaign_id, bucket, grp) != key:
            flush_key()
            key, site, union = (campaign_id, bucket, grp), site_id, hll_union(_LG_K)
            if len(batch) >= 1000:
                conn.execute(insert, batch)
                batch = []
        union.update(hll_sketch.deserialize(bytes(stored)))
    flush_key()
    if batch:
        conn.execute(insert, batch)


def downgrade() -> None:
    op.get_bind().execute(
        sa.text("DELETE FROM rollup_counts WHERE span = :ten"), {"ten": _TEN_MINUTES}
    )
    op.get_bind().execute(
        sa.text("DELETE FROM rollup_sketches WHERE span = :ten"), {"ten": _TEN_MINUTES}
    )
    op.drop_table("rollup_entry_totals")
