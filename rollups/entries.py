"""Confirmed entries into the rollups: an AnalyticsIndex that adds them, then indexes them.

Entries reach the index from the entry decisions (entries_ledger.after_decision.CountWins), not
through the occurrence store, and a replayed decision is announced again: the entries counted
are recorded by event id in `rollup_counted_entries` (few rows: entries are bounded by the
activities' capacities), in the same transaction as the counts.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Table

from analytics_index.ports import AnalyticsIndex
from common_messaging import EventOccurred
from datastore.schema import RollupCountedEntry
from rollups.writer import record_occurrences
from servicekit.database import Database
from servicekit.upsert import insert_ignoring_conflicts

COUNTED: Table = RollupCountedEntry.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class CountingEntriesIndex:
    index_to: AnalyticsIndex
    database: Database

    def index(self, events: Sequence[EventOccurred]) -> None:
        if events:
            with self.database.unit_of_work() as session:
                rows = [{"event_id": e.event_id} for e in sorted(events, key=lambda e: e.event_id)]
                new: set[UUID] = set(insert_ignoring_conflicts(session, COUNTED, rows))
                record_occurrences(session, events, new)
        self.index_to.index(events)

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self.index_to.remove(events)

    def ping(self) -> None:
        self.index_to.ping()
