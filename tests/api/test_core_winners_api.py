"""Winners for staff: an activity's entries keyset-paged by status and user, and the CSV export
streamed with constant memory (100,000 rows), on SQLite and Postgres."""

import csv
import io
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from datastore.schema import Entry
from entries_ledger import winners
from servicekit.database import Database
from tests.api.test_core_admin_api import client, error, ok  # noqa: F401 (the client fixture)
from tests.support.entries import Shop, add_activity, seed_shop

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    from datastore.engine import make_engine

    database = Database(make_engine(database_url))
    yield database
    database.dispose()


def _rows(shop: Shop, activity: uuid.UUID, n: int, start: int = 0) -> Iterator[dict[str, Any]]:
    for i in range(start, start + n):
        confirmed = i % 3 != 2
        yield {
            "id": uuid.uuid4(),
            "site_id": shop.site_id,
            "campaign_id": shop.campaign_id,
            "activity_id": activity,
            "user_id": f"user-{i}",
            "idempotency_key": f"k-{i}",
            "status": "confirmed" if confirmed else "rejected",
            "reason": None if confirmed else "sold_out",
            "detail": None,
            "position": i + 1 if confirmed else None,
            "user_slot": 1 if confirmed else None,
            "device_type": "mobile",
            "requested_at": T0 + timedelta(milliseconds=i),
            # Pairs share a decision time: the id breaks the tie in the keyset.
            "decided_at": T0 + timedelta(seconds=i // 2),
        }


def _seed(db: Database, shop: Shop, activity: uuid.UUID, n: int) -> None:
    batch = 5000
    for start in range(0, n, batch):
        with db.unit_of_work() as s:
            s.execute(insert(Entry), list(_rows(shop, activity, min(batch, n - start), start)))


def test_entries_are_keyset_paged_filtered_by_status_and_user(
    client: TestClient,  # noqa: F811
    database_url: str,
) -> None:
    from datastore.engine import make_engine

    db = Database(make_engine(database_url))
    shop = seed_shop(db)
    activity = add_activity(db, shop.campaign_id, capacity=None)
    _seed(db, shop, activity, 25)
    db.dispose()
    url = f"/v1/activities/{activity}/entries"

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(client.get(url, params={"limit": 7, **({"cursor": cursor} if cursor else {})}))
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 25 == len({e["entry_id"] for e in seen})
    keys = [(e["decided_at"], e["entry_id"]) for e in seen]
    assert keys == sorted(keys)

    won = ok(client.get(url, params={"status": "confirmed", "limit": 200}))["items"]
    assert len(won) == 17 and {e["status"] for e in won} == {"confirmed"}
    both = ok(client.get(url, params=[("status", "confirmed"), ("status", "rejected")]))
    assert len(both["items"]) == 25
    lost = ok(client.get(url, params={"status": "rejected"}))["items"]
    assert {(e["reason"], e["position"]) for e in lost} == {("sold_out", None)}
    [one] = ok(client.get(url, params={"user": "user-4"}))["items"]
    assert one["user_id"] == "user-4" and one["position"] == 5
    assert ok(client.get(url, params={"user": "user-5", "status": "confirmed"}))["items"] == []

    error(client.get(url, params={"status": "won"}), 422, "invalid_input")
    error(client.get(url, params={"cursor": "x"}), 422, "invalid_cursor")
    missing = uuid.uuid4()
    error(client.get(f"/v1/activities/{missing}/entries"), 404, "activity_not_found")
    error(client.get(f"/v1/activities/{missing}/entries.csv"), 404, "activity_not_found")

    export = client.get(f"{url}.csv", params={"status": "confirmed"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert tuple(table[0]) == winners.CSV_COLUMNS
    assert [r["entry_id"] for r in table] == [e["entry_id"] for e in won]


# Generated in the database: 100,000 rows in a second or two rather than a minute of binds.
_SERIES = {
    "postgresql": """
        INSERT INTO entries (id, site_id, campaign_id, activity_id, user_id, idempotency_key,
            status, reason, position, user_slot, device_type, requested_at, decided_at)
        SELECT gen_random_uuid(), :site, :campaign, :activity, 'user-' || i, 'k-' || i,
            CASE WHEN i % 3 = 2 THEN 'rejected' ELSE 'confirmed' END,
            CASE WHEN i % 3 = 2 THEN 'sold_out' END,
            CASE WHEN i % 3 = 2 THEN NULL ELSE i + 1 END,
            CASE WHEN i % 3 = 2 THEN NULL ELSE 1 END, 'mobile',
            CAST(:t0 AS timestamptz) + i * interval '1 second',
            CAST(:t0 AS timestamptz) + (i / 2) * interval '1 second'
        FROM generate_series(0, :n - 1) AS i""",
    "sqlite": """
        WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
        INSERT INTO entries (id, site_id, campaign_id, activity_id, user_id, idempotency_key,
            status, reason, position, user_slot, device_type, requested_at, decided_at)
        SELECT lower(hex(randomblob(16))), :site, :campaign, :activity, 'user-' || i, 'k-' || i,
            CASE WHEN i % 3 = 2 THEN 'rejected' ELSE 'confirmed' END,
            CASE WHEN i % 3 = 2 THEN 'sold_out' END,
            CASE WHEN i % 3 = 2 THEN NULL ELSE i + 1 END,
            CASE WHEN i % 3 = 2 THEN NULL ELSE 1 END, 'mobile',
            strftime('%Y-%m-%d %H:%M:%S', :t0, '+' || i || ' seconds') || '.000000',
            strftime('%Y-%m-%d %H:%M:%S', :t0, '+' || (i / 2) || ' seconds') || '.000000'
        FROM seq""",
}


def _generate(db: Database, shop: Shop, activity: uuid.UUID, n: int) -> None:
    dialect = db.engine.dialect.name
    ids = {"site": shop.site_id, "campaign": shop.campaign_id, "activity": activity}
    if dialect == "sqlite":  # the Uuid type's storage there: 32 hex digits
        ids = {k: v.hex for k, v in ids.items()}  # type: ignore[misc]
    t0 = "2026-12-01 12:00:00" if dialect == "sqlite" else T0.isoformat()
    with db.unit_of_work() as s:
        s.execute(text(_SERIES[dialect]), {**ids, "t0": t0, "n": n})


def _export(db: Database, activity: uuid.UUID) -> tuple[int, int, bool]:
    """(data rows, peak bytes traced while the export was consumed chunk by chunk, whether
    Postgres was reading it through a server-side cursor half way)."""
    tracemalloc.start()
    lines, chunks, fetching = 0, 0, False
    try:
        for chunk in winners.export_csv(db.engine, activity):
            lines += chunk.count(b"\n")
            chunks += 1
            if chunks == 10 and db.engine.dialect.name == "postgresql":
                fetching = _fetching_from_a_cursor(db)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines - 1, peak, fetching


def _fetching_from_a_cursor(db: Database) -> bool:
    with db.engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND query LIKE 'FETCH FORWARD%'"
                )
            )
        )


@pytest.mark.timeout(180)
def test_the_csv_export_streams_in_constant_memory(db: Database) -> None:
    """100,000 rows on Postgres, where only a server-side cursor keeps the result out of the
    client; 25,000 on SQLite, whose cursor reads lazily anyway (CI time is scarce)."""
    postgres = db.engine.dialect.name == "postgresql"
    n = 100_000 if postgres else 25_000
    shop = seed_shop(db)
    activity = add_activity(db, shop.campaign_id, capacity=None)
    _generate(db, shop, activity, n)
    rows, peak, fetching = _export(db, activity)
    assert rows == n
    # Holding the rows would take some 500 bytes each (a row, a UUID, strings, datetimes): over
    # 12 MB for 25,000. Streaming holds one batch of 1,000 rows and its CSV text at a time.
    assert peak < 4_000_000, peak
    if postgres:
        assert fetching, "the export did not read through a server-side cursor"
