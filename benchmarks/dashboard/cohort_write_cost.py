"""What keeping the cohort cells costs a purchase batch:
`python -m benchmarks.dashboard.cohort_write_cost`.

The same purchases (customers buying over twelve weeks, one in twenty untrusted, 2 % delivered
late, after their customer's later purchases, so they move the customer) are written batch by
batch, one transaction each, into a fresh scratch Postgres database per round: `plain` is the
purchase insert alone (main's statement before the cells), `cells` is the write path
(`insert_purchase_rows`: the insert returning the rows stored now, then the cohort cells).
Rounds alternate (plain, cells, cells, plain, ...) so the machine's load hits both alike.
Batch sizes: 15 (a consumer batch of 500 events at 3 % purchases) and 500 (purchases only).
Exit code 0 when it ran, 1 on an error, 2 without PULSE_DATABASE_URL.
"""

import argparse
import os
import random
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from benchmarks.common.facts import out
from benchmarks.dashboard.rollup_load import scratch_database
from core_service.adapters.occurrence_repository import (
    PURCHASE_COLUMNS,
    PURCHASES,
    insert_purchase_rows,
)
from datastore.engine import make_engine
from datastore.schema import Site, User
from servicekit.upsert import bulk_execute, bulk_insert

START = datetime(2030, 1, 6, tzinfo=UTC)
Writer = Callable[[Session, Sequence[dict[str, Any]]], None]


def plain(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    stmt = bulk_insert(session, PURCHASES, PURCHASE_COLUMNS).on_conflict_do_nothing()
    bulk_execute(session, stmt, PURCHASE_COLUMNS, rows)


WAYS: dict[str, Writer] = {"plain": plain, "cells": insert_purchase_rows}


def dataset(
    customers: int, purchases: int, seed: int = 11
) -> tuple[uuid.UUID, list[uuid.UUID], list[dict[str, Any]]]:
    rng = random.Random(seed)
    site = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(customers)]
    campaigns = [uuid.uuid4() for _ in range(3)] + [None]
    rows: list[dict[str, Any]] = [
        {
            "event_id": uuid.uuid4(),
            "site_id": site,
            "user_id": rng.choice(users),
            "campaign_id": rng.choice(campaigns),
            "activity_id": None,
            "order_id": f"o-{i}",
            "amount": Decimal(rng.randint(500, 25_000)) / 100,
            "currency": "EUR",
            "occurred_at": START + timedelta(seconds=rng.randrange(12 * 7 * 86400)),
            "trusted": rng.random() >= 0.05,
        }
        for i in range(purchases)
    ]
    rows.sort(key=lambda r: r["occurred_at"])
    late = [r for r in rows if rng.random() < 0.02]
    late_ids = {r["event_id"] for r in late}
    return site, users, [r for r in rows if r["event_id"] not in late_ids] + late


def _round(
    url: str,
    site: uuid.UUID,
    users: list[uuid.UUID],
    rows: list[dict[str, Any]],
    batch: int,
    way: Writer,
) -> list[float]:
    engine = make_engine(url)
    try:
        with Session(engine) as s, s.begin():
            s.add(Site(id=site, name="Bench", site_key=f"pk_{site.hex}", created_at=START,
                       updated_at=START))  # fmt: skip
            s.flush()
            s.execute(insert(User.__table__), [  # type: ignore[arg-type]
                {"id": u, "site_id": site, "user_key": u.hex, "created_at": START} for u in users
            ])  # fmt: skip
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        times = []
        for at in range(0, len(rows), batch):
            started = time.perf_counter()
            with Session(engine) as s, s.begin():
                way(s, rows[at : at + batch])
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dashboard.cohort_write_cost")
    p.add_argument("--customers", type=int, default=4_000)
    p.add_argument("--purchases", type=int, default=12_000, help="per round (default 12000)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of each way (default 2)")
    args = p.parse_args(argv)
    url = os.environ.get("PULSE_DATABASE_URL")
    if not url:
        sys.stderr.write("benchmark cannot run: PULSE_DATABASE_URL is not set\n")
        return 2
    try:
        _run(url, args.customers, args.purchases, args.rounds)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def _run(url: str, customers: int, purchases: int, rounds: int) -> None:
    site, users, rows = dataset(customers, purchases)
    out(f"{purchases:,} purchases of {customers:,} customers per round, {rounds} rounds each way")
    for batch in (15, 500):
        times: dict[str, list[float]] = {"plain": [], "cells": []}
        for i in range(2 * rounds):
            name = "cells" if i % 4 in (1, 2) else "plain"
            with scratch_database(url) as scratch:
                times[name] += _round(scratch, site, users, rows, batch, WAYS[name])
        plain_ms, cells_ms = (statistics.median(times[n]) for n in ("plain", "cells"))
        p95 = {n: statistics.quantiles(times[n], n=20)[-1] for n in times}
        out(f"  batches of {batch}: per batch (transaction) p50 / p95 ms: plain "
            f"{plain_ms:.2f} / {p95['plain']:.2f}, with the cohort cells {cells_ms:.2f} / "
            f"{p95['cells']:.2f}; added {cells_ms - plain_ms:+.2f} ms a batch "
            f"({(cells_ms - plain_ms) / batch * 1000:+.0f} us a purchase)")  # fmt: skip
    out(f"load average now (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
