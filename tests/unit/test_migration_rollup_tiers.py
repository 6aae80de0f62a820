"""Revision 20261202_0009 carries the rollups written before it over to the new tier: 10-minute
count rows summed from the minute rows, 10-minute sketches merged from the minute sketches,
and every confirmed entry per activity summed from the hour rows."""

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from datasketches import hll_sketch
from sqlalchemy import Table, insert, select

from datastore.engine import make_engine
from datastore.schema import RollupCount, RollupEntryTotal, RollupSketch
from migrations.runner import downgrade, upgrade
from rollups.sketches import sketch_of
from tests.engines import scratch_postgres_database

COUNTS: Table = RollupCount.__table__  # type: ignore[assignment]
SKETCHES: Table = RollupSketch.__table__  # type: ignore[assignment]
TOTALS: Table = RollupEntryTotal.__table__  # type: ignore[assignment]
CAMPAIGN, SITE, ACTIVITY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
T0 = 1_714_557_600  # a whole hour


def _count(
    span: int, bucket: int, events: int, entries: int, last: int | None
) -> dict[str, object]:
    return {
        "campaign_id": CAMPAIGN, "span": span, "bucket_ts": bucket, "activity_id": ACTIVITY,
        "device_type": "mobile", "is_new_user": True, "site_id": SITE, "events": events,
        "visits": events - entries, "clicks": 0, "form_submits": 0, "purchases": 0,
        "entries": entries, "revenue": Decimal("1.50") * events, "last_entry_ts": last,
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
)
def test_upgrade_fills_the_ten_minute_tier_and_entry_totals(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        _check_upgrade(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        return
    with scratch_postgres_database() as url:
        _check_upgrade(url)


def _check_upgrade(url: str) -> None:
    upgrade(url, "20261202_0008")
    engine = make_engine(url)
    minutes = [(T0 + 60 * i, 2 + i % 3) for i in range(25)]  # 25 minutes: 3 ten-minute buckets
    visitors = {bucket: [f"v{(i * 7 + k) % 40}" for k in range(9)] for i, (bucket, _) in
                enumerate(minutes)}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(COUNTS), [_count(60, b, n, 1, b + 5) for b, n in minutes])
        conn.execute(insert(COUNTS), [_count(3600, T0, 999, 25, T0 + 1445)])
        conn.execute(insert(SKETCHES), [
            {"campaign_id": CAMPAIGN, "span": 60, "bucket_ts": b, "grp": "all", "site_id": SITE,
             "sketch": bytes(sketch_of(visitors[b]).serialize_compact())}
            for b, _ in minutes
        ])  # fmt: skip
    engine.dispose()

    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        tens = conn.execute(
            select(COUNTS.c.bucket_ts, COUNTS.c.events, COUNTS.c.entries, COUNTS.c.revenue)
            .where(COUNTS.c.span == 600)
            .order_by(COUNTS.c.bucket_ts)
        ).all()
        sketches = dict(
            conn.execute(select(SKETCHES.c.bucket_ts, SKETCHES.c.sketch).where(
                SKETCHES.c.span == 600
            )).all()
        )  # fmt: skip
        totals = conn.execute(select(TOTALS)).all()
    engine.dispose()
    expected = {}
    for bucket, n in minutes:
        ten = bucket - bucket % 600
        events, entries = expected.get(ten, (0, 0))
        expected[ten] = (events + n, entries + 1)
    assert [(b, e, n, r) for b, e, n, r in tens] == [
        (b, e, n, Decimal("1.50") * e) for b, (e, n) in sorted(expected.items())
    ]
    for ten in expected:
        want = {v for b, _ in minutes if b - b % 600 == ten for v in visitors[b]}
        assert round(hll_sketch.deserialize(sketches[ten]).get_estimate()) == len(want)
    assert [tuple(t) for t in totals] == [(CAMPAIGN, ACTIVITY, 25, T0 + 1445)]

    downgrade(url, "20261202_0008")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(COUNTS.c.span).where(COUNTS.c.span == 600)) is None
        assert conn.scalar(select(SKETCHES.c.span).where(SKETCHES.c.span == 600)) is None
    engine.dispose()
