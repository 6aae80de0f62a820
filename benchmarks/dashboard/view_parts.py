"""Where the rollup view's time goes, measured in the same run as its total: each part of
`RollupAnalyticsStore.campaign_metrics` timed apart, and the counts statement's own plan.

Parts: the counts statement (one round trip: Postgres's execution and the rows' transfer), the
sketches' fetch (their bytes), their deserialisation and union (Python, DataSketches), and the
assembly of the answer from both (Python). The parts use the same pool as the store, a
connection checkout each.
"""

import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from benchmarks.common.facts import out
from dashboard_service.adapters.rollup_analytics import aggregates_of, view_of
from dashboard_service.domain.models import MetricsQuery
from rollups.reader import counts_statement, fetch_sketches, read_campaign, read_counts
from rollups.reader import union_sketches as union_of


def view_parts(engine: Engine, q: MetricsQuery) -> list[tuple[str, Callable[[], Any]]]:
    view = view_of(q)
    with engine.connect() as conn:
        rows = fetch_sketches(conn, view)
        found = read_campaign(conn, view)

    def counts() -> Any:
        with engine.connect() as conn:
            return read_counts(conn, view)

    def sketches() -> Any:
        with engine.connect() as conn:
            return fetch_sketches(conn, view)

    total = sum(len(sketch) for _, _, sketch in rows)
    out(f"    the view reads {len(rows):,} sketches ({total / 2**20:.2f} MiB)")
    return [
        ("  part: counts statement", counts),
        ("  part: sketches fetch", sketches),
        ("  part: sketches deserialise+union", lambda: union_of(rows)),
        ("  part: assembly (Python)", lambda: aggregates_of(found, q)),
    ]


def explain_counts(engine: Engine, q: MetricsQuery) -> str:
    """EXPLAIN ANALYZE of the counts statement: Postgres's own time, apart from the transfer."""
    stmt = counts_statement(view_of(q))
    with engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        plan = [
            str(line)
            for (line,) in conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params
            )
        ]
    if os.environ.get("PULSE_BENCH_VERBOSE"):
        for line in plan:
            out(f"      {line}")
    scanned = [line for line in plan if " on rollup_counts" in line]
    facts = [line.strip() for line in plan if line.startswith(("Planning Time", "Execution Time"))]
    rows = scanned[0].rsplit("rows=", 1)[-1].split()[0] if scanned else "?"
    return (
        f"counts statement in Postgres (EXPLAIN ANALYZE): {', '.join(facts)}; view rows read {rows}"
    )
