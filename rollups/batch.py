"""One batch's contribution to the rollups, built in memory before one write (rollups.writer).

Every event is in its minute, 10-minute and hour rows and sketches (`SPANS`): a view sums whole
hours from the hour rows, the whole 10 minutes of its partial edge hours from the 10-minute rows
and the rest (at most 9 minutes an edge) from the minute rows, so it is exact to the minute and
reads few rows (rollups.reader.pieces).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, NamedTuple
from uuid import UUID

from datasketches import hll_sketch, hll_union

from common_messaging import EventOccurred, EventType
from rollups.groups import groups_of
from rollups.sketches import LG_K, new_sketch

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


class Fact(NamedTuple):
    """What the rollups need of one event (the consumer's occurrences, the benchmark's docs); a
    named tuple: made for every event, it is the cheapest to build."""

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
    """Counts of the events added with `count=True`, and the visitors of every event added.

    An event updates its minute's row and sketches only; the coarser tiers' rows and sketches
    are made from the minutes' when the batch is written (`count_rows`, `sketches`): a sum and a
    sketch union per minute of the batch, instead of hashing every visitor once per tier.
    """

    minute_counts: dict[CountKey, CountRow] = field(default_factory=dict)
    # (campaign, minute) -> group -> (site, sketch): one UUID-keyed lookup an event, then the
    # groups by name (a tuple key with a UUID hashes the UUID in Python at every lookup).
    minute_visitors: dict[tuple[UUID, int], dict[str, tuple[UUID, hll_sketch]]] = field(
        default_factory=dict
    )

    def add(self, fact: Fact, *, count: bool = True) -> None:
        minute = fact.ts - fact.ts % MINUTE
        if count:
            self.counts_only(fact)
        sketches = self.minute_visitors.get((fact.campaign_id, minute))
        if sketches is None:
            sketches = self.minute_visitors[(fact.campaign_id, minute)] = {}
        for group in groups_of(fact.type, fact.activity_id, fact.device_type, fact.is_new_user):
            entry = sketches.get(group)
            if entry is None:
                entry = sketches[group] = (fact.site_id, new_sketch())
            entry[1].update(fact.visitor_key)

    def counts_only(self, fact: Fact) -> None:
        """Count the event without its visitor (a loader that keeps sketches apart)."""
        key = (fact.campaign_id, MINUTE, fact.ts - fact.ts % MINUTE,
               fact.activity_id or NO_ACTIVITY, fact.device_type, fact.is_new_user)  # fmt: skip
        row = self.minute_counts.get(key)
        if row is None:
            row = self.minute_counts[key] = CountRow(fact.site_id)
        row.counts["events"] += 1
        column = TYPE_COLUMNS.get(fact.type)
        if column is not None:
            row.counts[column] += 1
        if fact.type == "purchase":
            row.revenue += fact.revenue
        elif fact.type == "entry":
            row.last_entry_ts = max(row.last_entry_ts or fact.ts, fact.ts)

    def count_rows(self) -> dict[CountKey, CountRow]:
        """Every tier's rows: the minutes', and each coarser bucket's summed from them."""
        rows = dict(self.minute_counts)
        for (campaign, _, minute, activity, device, new), row in self.minute_counts.items():
            for span in SPANS[1:]:
                key = (campaign, span, minute - minute % span, activity, device, new)
                total = rows.get(key)
                if total is None:
                    total = rows[key] = CountRow(row.site_id)
                for name, n in row.counts.items():
                    total.counts[name] += n
                total.revenue += row.revenue
                if row.last_entry_ts is not None:
                    total.last_entry_ts = max(total.last_entry_ts or 0, row.last_entry_ts)
        return rows

    def sketches(self) -> dict[SketchKey, tuple[UUID, hll_sketch | hll_union]]:
        """Every tier's sketches: the minutes', and each coarser bucket's union of them (left a
        union, so the writer adds the stored sketch to it without one more union)."""
        unions: dict[SketchKey, tuple[UUID, hll_union]] = {}
        merged: dict[SketchKey, tuple[UUID, hll_sketch | hll_union]] = {}
        for (campaign, minute), groups in self.minute_visitors.items():
            for group, (site_id, sketch) in groups.items():
                merged[(campaign, MINUTE, minute, group)] = (site_id, sketch)
                for span in SPANS[1:]:
                    key = (campaign, span, minute - minute % span, group)
                    entry = unions.get(key)
                    if entry is None:
                        entry = unions[key] = (site_id, hll_union(LG_K))
                    entry[1].update(sketch)
        merged.update(unions)
        return merged

    def entry_totals(self) -> dict[tuple[UUID, UUID], tuple[int, int]]:
        """Confirmed entries counted per (campaign, activity): (count, latest epoch second)."""
        totals: dict[tuple[UUID, UUID], tuple[int, int]] = {}
        for (campaign, _, _, activity, _, _), row in self.minute_counts.items():
            n = row.counts["entries"]
            if n and row.last_entry_ts is not None:
                was, last = totals.get((campaign, activity), (0, row.last_entry_ts))
                totals[(campaign, activity)] = (was + n, max(last, row.last_entry_ts))
        return totals

    def campaigns(self) -> list[UUID]:
        return sorted({k[0] for k in self.minute_visitors} | {k[0] for k in self.minute_counts})

    def __bool__(self) -> bool:
        return bool(self.minute_visitors or self.minute_counts)
