"""One batch's contribution to the rollups, built in memory before one write (rollups.writer).

Every event adds to its minute, 10-minute and hour rows (`SPANS`): a view sums whole hours from
the hour rows, the whole 10 minutes of its partial edge hours from the 10-minute rows and the
rest (at most 9 minutes an edge) from the minute rows, so it is exact to the minute and reads
few rows (rollups.reader.pieces).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final
from uuid import UUID

from datasketches import hll_sketch

from common_messaging import EventOccurred, EventType
from rollups.groups import groups_of
from rollups.sketches import new_sketch

MINUTE: Final = 60
TEN_MINUTES: Final = 600
HOUR: Final = 3600
SPANS: Final = (MINUTE, TEN_MINUTES, HOUR)
# Events of no activity are kept under the nil UUID: a primary key column cannot be NULL.
NO_ACTIVITY: Final = UUID(int=0)
# The count column of each event type; custom events count in `events` only.
TYPE_COLUMNS: Final = {
    "page_view": "visits",
    "click": "clicks",
    "form_submit": "form_submits",
    "purchase": "purchases",
    "entry": "entries",
}
COUNT_COLUMNS: Final = ("events", "visits", "clicks", "form_submits", "purchases", "entries")

CountKey = tuple[UUID, int, int, UUID, str, bool]  # campaign, span, bucket, activity, device, new
SketchKey = tuple[UUID, int, int, str]  # campaign, span, bucket, group


@dataclass(frozen=True, slots=True)
class Fact:
    """What the rollups need of one event (the consumer's occurrences, the benchmark's docs)."""

    site_id: UUID
    campaign_id: UUID
    activity_id: UUID | None
    ts: int
    type: str
    device_type: str
    is_new_user: bool
    visitor_key: str
    revenue: Decimal = Decimal("0")


def fact_of(event: EventOccurred) -> Fact | None:
    """The event's fact; None for events of no campaign (no campaign view shows them)."""
    if event.campaign_id is None:
        return None
    purchase = event.purchase if event.type is EventType.PURCHASE else None
    return Fact(
        site_id=event.site_id,
        campaign_id=event.campaign_id,
        activity_id=event.activity_id,
        ts=int(event.occurred_at.timestamp()),
        type=event.type.value,
        device_type=event.device.device_type.value,
        is_new_user=event.is_new_user,
        visitor_key=event.visitor_key,
        revenue=purchase.amount if purchase is not None else Decimal("0"),
    )


@dataclass(slots=True)
class CountRow:
    site_id: UUID
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    revenue: Decimal = Decimal("0")
    last_entry_ts: int | None = None


@dataclass
class RollupBatch:
    """Counts of the events added with `count=True`, and the visitors of every event added."""

    counts: dict[CountKey, CountRow] = field(default_factory=dict)
    sketches: dict[SketchKey, tuple[UUID, hll_sketch]] = field(default_factory=dict)

    def add(self, fact: Fact, *, count: bool = True) -> None:
        activity = fact.activity_id or NO_ACTIVITY
        groups = groups_of(fact.type, fact.activity_id, fact.device_type, fact.is_new_user)
        for span in SPANS:
            bucket = fact.ts - fact.ts % span
            if count:
                self._count(fact, (fact.campaign_id, span, bucket, activity, fact.device_type,
                                   fact.is_new_user))  # fmt: skip
            for group in groups:
                key = (fact.campaign_id, span, bucket, group)
                entry = self.sketches.get(key)
                if entry is None:
                    entry = self.sketches[key] = (fact.site_id, new_sketch())
                entry[1].update(fact.visitor_key)

    def counts_only(self, fact: Fact) -> None:
        """Count the event without its visitor (a loader that keeps sketches apart)."""
        activity = fact.activity_id or NO_ACTIVITY
        for span in SPANS:
            bucket = fact.ts - fact.ts % span
            self._count(fact, (fact.campaign_id, span, bucket, activity, fact.device_type,
                               fact.is_new_user))  # fmt: skip

    def _count(self, fact: Fact, key: CountKey) -> None:
        row = self.counts.get(key)
        if row is None:
            row = self.counts[key] = CountRow(fact.site_id)
        row.counts["events"] += 1
        column = TYPE_COLUMNS.get(fact.type)
        if column is not None:
            row.counts[column] += 1
        if fact.type == "purchase":
            row.revenue += fact.revenue
        elif fact.type == "entry":
            row.last_entry_ts = max(row.last_entry_ts or fact.ts, fact.ts)

    def entry_totals(self) -> dict[tuple[UUID, UUID], tuple[int, int]]:
        """Confirmed entries counted per (campaign, activity): (count, latest epoch second)."""
        totals: dict[tuple[UUID, UUID], tuple[int, int]] = {}
        for (campaign, span, _, activity, _, _), row in self.counts.items():
            n = row.counts["entries"]
            if span == HOUR and n and row.last_entry_ts is not None:
                was, last = totals.get((campaign, activity), (0, row.last_entry_ts))
                totals[(campaign, activity)] = (was + n, max(last, row.last_entry_ts))
        return totals

    def campaigns(self) -> list[UUID]:
        return sorted({key[0] for key in self.sketches} | {key[0] for key in self.counts})

    def __bool__(self) -> bool:
        return bool(self.sketches or self.counts)
