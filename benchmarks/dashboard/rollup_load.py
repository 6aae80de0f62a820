"""The benchmark's rollups: the same documents written through rollups.writer into a scratch
Postgres database, and the exact unique visitors the sketches are measured against.

Counts are written every COUNT_FLUSH documents (additive upserts, as the consumer's batches),
sketches once at the end (one merge per sketch instead of one per flush: the load stays
bounded; the consumer's own cost is measured by `benchmarks.pipeline --rollups`).
"""

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, make_url, text

from benchmarks.dashboard.data import Campaign, traffic
from datastore.admin import drop_database
from datastore.engine import make_engine
from migrations.runner import upgrade
from rollups.batch import Fact, RollupBatch
from rollups.writer import write_batch
from servicekit.database import Database

COUNT_FLUSH = 100_000


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the server of `server_url`, dropped at the end whatever happens."""
    admin_url = make_url(server_url)
    name = f"pulse_benchdash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        drop_database(admin, name)
        admin.dispose()


def fact_of_doc(doc: dict[str, Any]) -> Fact:
    return Fact(
        site_id=uuid.UUID(doc["site_id"]),
        campaign_id=uuid.UUID(doc["campaign_id"]),
        activity_id=uuid.UUID(doc["activity_id"]) if doc["activity_id"] else None,
        ts=int(datetime.fromisoformat(doc["occurred_at"]).timestamp()),
        type=doc["type"],
        device_type=doc["device_type"],
        is_new_user=doc["is_new_user"],
        visitor_key=doc["visitor_key"],
        revenue=Decimal(str(doc["revenue"])),
    )


@dataclass
class ExactVisitors:
    """Exact unique visitors of the whole view: in total and per activity."""

    total: set[str] = field(default_factory=set)
    by_activity: dict[uuid.UUID, set[str]] = field(default_factory=dict)

    def add(self, fact: Fact) -> None:
        self.total.add(fact.visitor_key)
        if fact.activity_id is not None:
            self.by_activity.setdefault(fact.activity_id, set()).add(fact.visitor_key)


def load_rollups(url: str, c: Campaign, events: int) -> tuple[float, ExactVisitors, list[Fact]]:
    """Write the rollups of the documents; returns seconds taken, the exact visitors and the
    purchases' facts (benchmarks.dashboard.money_load)."""
    database = Database(make_engine(url))
    exact = ExactVisitors()
    bought: list[Fact] = []
    sketches = RollupBatch()
    counts = RollupBatch()
    started = time.perf_counter()
    try:
        for i, doc in enumerate(traffic(c, events), 1):
            fact = fact_of_doc(doc)
            exact.add(fact)
            if fact.type == "purchase":
                bought.append(fact)
            sketches.add(fact, count=False)
            counts.counts_only(fact)
            if i % COUNT_FLUSH == 0:
                with database.unit_of_work() as session:
                    write_batch(session, counts)
                counts = RollupBatch()
        with database.unit_of_work() as session:
            write_batch(session, counts)
            write_batch(session, sketches)
        return time.perf_counter() - started, exact, bought
    finally:
        database.dispose()
