"""What follows entry decisions, wherever they are taken (core's consumer, the embedded gate).

A win changes the user's summary (`entry_count`, `last_entry_at`), so the cache forgets it, and
becomes an `entry` event in the analytics index for the dashboards. Both are idempotent: a
replayed decision forgets the same summary again and indexes the same event id again.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from analytics_index.ports import AnalyticsIndex
from common_messaging import EntryDecided, EntryRequested
from entries_ledger.decider import confirmed_occurrences
from user_summaries.ports import SummaryCache


@dataclass(frozen=True, slots=True)
class CountWins:
    """The `AfterDecision` step both deciding paths run: summaries forgotten, wins indexed."""

    index: AnalyticsIndex
    summaries: SummaryCache

    def __call__(self, decisions: Sequence[tuple[EntryRequested, EntryDecided]]) -> None:
        won = list(confirmed_occurrences(decisions))
        for site_id in {event.site_id for event in won}:
            self.summaries.invalidate(site_id, [e.visitor_key for e in won if e.site_id == site_id])
        self.index.index(won)
