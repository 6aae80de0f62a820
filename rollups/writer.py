"""Write a RollupBatch in the caller's transaction: counts added, sketches merged.

Counts: one `INSERT ... ON CONFLICT DO UPDATE` adding each column (`bulk_insert`). Sketches:
the touched rows read, merged with the batch's sketches and written back. Concurrent consumers
of one campaign would lose each other's merges, so a transaction first takes a transaction-level
advisory lock per campaign (all in one statement, in key order: no deadlock), held until its
commit. SQLite serialises writers itself.

Callers pass counts only for events stored for the first time (`record_occurrences` is given
the ids the occurrence insert returned; `CountingEntriesIndex` deduplicates entries in
`rollup_counted_entries`): a replayed event adds no count, and its visitor, already in the
sketch, changes no sketch.
"""

import hashlib
from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from datasketches import hll_sketch, hll_union
from sqlalchemy import Insert, Select, Table, TextClause, bindparam, func, select, text, tuple_
from sqlalchemy.orm import Session

from common_messaging import EventOccurred
from datastore.schema import RollupCount, RollupEntryTotal, RollupSketch
from rollups.batch import COUNT_COLUMNS, CountKey, CountRow, RollupBatch, SketchKey
from rollups.sketches import merged
from servicekit.upsert import bulk_execute, bulk_insert, reused

COUNTS: Table = RollupCount.__table__  # type: ignore[assignment]
SKETCHES: Table = RollupSketch.__table__  # type: ignore[assignment]
ENTRY_TOTALS: Table = RollupEntryTotal.__table__  # type: ignore[assignment]
_KEY_COLUMNS = ("campaign_id", "span", "bucket_ts", "activity_id", "device_type", "is_new_user")
_COUNT_ROW = (*_KEY_COLUMNS, "site_id", *COUNT_COLUMNS, "revenue", "last_entry_ts")
_SKETCH_KEY = ("campaign_id", "span", "bucket_ts", "grp")
_SKETCH_ROW = (*_SKETCH_KEY, "site_id", "sketch")
_ENTRY_ROW = ("campaign_id", "activity_id", "entries", "last_entry_ts")
# Bound parameters per read: a big batch (a backlog, a replay) stays far below the drivers' limits.
_KEYS_PER_READ = 1000


def record_occurrences(
    session: Session, events: Sequence[EventOccurred], new_ids: Collection[UUID]
) -> None:
    """Add a stored batch to the rollups: counts for `new_ids`, visitors for every event."""
    batch = RollupBatch()
    # By integer (hashed in C); taken out when counted: a batch may carry an event twice (a
    # producer's retry).
    fresh = {event_id.int for event_id in new_ids}
    for event in events:
        event_id = event.event_id.int
        new = event_id in fresh
        if new:
            fresh.discard(event_id)
        batch.add_event(event, count=new)
    write_batch(session, batch)


def lock_key(campaign_id: UUID) -> int:
    """The advisory lock of a campaign's rollups: 64 bits of a hash, namespaced."""
    digest = hashlib.blake2b(b"pulse-rollups:" + campaign_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def write_batch(session: Session, batch: RollupBatch) -> None:
    if not batch:
        return
    if session.get_bind().dialect.name == "postgresql":
        keys = sorted(lock_key(c) for c in batch.campaigns())
        session.execute(reused(session, "lock", _lock_campaigns), {"keys": keys})
    _add_counts(session, batch.count_rows())
    _add_entry_totals(session, batch)
    sketches = batch.sketches()
    if sketches:
        _merge_sketches(session, sketches)


def _lock_campaigns(_: Session) -> TextClause:
    # In key order (every writer takes them so: no deadlock); Postgres evaluates a volatile
    # output function after the ORDER BY sort.
    return text(
        "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k"
    )


def _counts_upsert(session: Session) -> Insert:
    highest = func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
    insert = bulk_insert(session, COUNTS, _COUNT_ROW)
    new, old = insert.excluded, COUNTS.c
    added: dict[str, Any] = {name: old[name] + new[name] for name in (*COUNT_COLUMNS, "revenue")}
    added["last_entry_ts"] = highest(
        func.coalesce(old.last_entry_ts, new.last_entry_ts),
        func.coalesce(new.last_entry_ts, old.last_entry_ts),
    )
    return insert.on_conflict_do_update(index_elements=list(_KEY_COLUMNS), set_=added)


def _entry_totals_upsert(session: Session) -> Insert:
    highest = func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
    insert = bulk_insert(session, ENTRY_TOTALS, _ENTRY_ROW)
    new, old = insert.excluded, ENTRY_TOTALS.c
    return insert.on_conflict_do_update(
        index_elements=["campaign_id", "activity_id"],
        set_={
            "entries": old.entries + new.entries,
            "last_entry_ts": highest(
                func.coalesce(old.last_entry_ts, new.last_entry_ts), new.last_entry_ts
            ),
        },
    )


def _sketches_read(_: Session) -> Select[Any]:
    # By bucket, not by key: a batch touches a few buckets (a live one: its minute and hour),
    # and a short IN list of triples is far cheaper to plan than one of every (bucket, group).
    columns = [SKETCHES.c[name] for name in _SKETCH_KEY]
    return select(*columns, SKETCHES.c.sketch).where(
        tuple_(*columns[:3]).in_(bindparam("buckets", expanding=True))
    )


def _sketches_upsert(session: Session) -> Insert:
    insert = bulk_insert(session, SKETCHES, _SKETCH_ROW)
    return insert.on_conflict_do_update(
        index_elements=list(_SKETCH_KEY), set_={"sketch": insert.excluded.sketch}
    )


def _add_counts(session: Session, counts: dict[CountKey, CountRow]) -> None:
    if not counts:
        return
    rows = [
        {
            **dict(zip(_KEY_COLUMNS, key, strict=True)),
            "site_id": row.site_id,
            **row.counts,
            "revenue": row.revenue,
            "last_entry_ts": row.last_entry_ts,
        }
        for key, row in sorted(counts.items(), key=lambda item: item[0])
    ]
    bulk_execute(session, reused(session, "counts", _counts_upsert), _COUNT_ROW, rows)


def _add_entry_totals(session: Session, batch: RollupBatch) -> None:
    totals = batch.entry_totals()
    if not totals:
        return
    rows = [
        {"campaign_id": c, "activity_id": a, "entries": n, "last_entry_ts": last}
        for (c, a), (n, last) in sorted(totals.items())
    ]
    stmt = reused(session, "entry_totals", _entry_totals_upsert)
    bulk_execute(session, stmt, _ENTRY_ROW, rows)


def _merge_sketches(
    session: Session, sketches: dict[SketchKey, tuple[UUID, hll_sketch | hll_union]]
) -> None:
    keys = sorted(sketches)
    buckets = sorted({key[:3] for key in keys})
    read = reused(session, "sketches_read", _sketches_read)
    stored: dict[tuple[Any, ...], bytes] = {}
    for at in range(0, len(buckets), _KEYS_PER_READ):
        found = session.execute(read, {"buckets": buckets[at : at + _KEYS_PER_READ]})
        stored.update((tuple(row[:4]), row[4]) for row in found)
    rows = []
    for key in keys:
        site_id, sketch = sketches[key]
        rows.append(
            {
                **dict(zip(_SKETCH_KEY, key, strict=True)),
                "site_id": site_id,
                "sketch": merged(stored.get(key), sketch),
            }
        )
    # One statement for every row (an executemany was one round of the pipeline per row).
    bulk_execute(session, reused(session, "sketches", _sketches_upsert), _SKETCH_ROW, rows)
