"""One batch's contribution to the rollups, built in memory before one write (rollups.writer).

Every event is in its minute, 10-minute and hour rows and sketches (`SPANS`): a view sums whole
hours from the hour rows, the whole 10 minutes of its partial edge hours from the 10-minute rows
and the rest (at most 9 minutes an edge) from the minute rows, so it is exact to the minute and
reads few rows (rollups.reader.pieces).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Final, NamedTuple
from uuid import UUID

from datasketches import hll_sketch, hll_union

from common_messaging import EventOccurred
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

_ZERO: Final = Decimal("0")

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


@dataclass(slots=True)
class CountRow:
    site_id: UUID
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    revenue: Decimal = Decimal("0")
    last_entry_ts: int | None = None


# A batch's own keys hold UUIDs as their 128-bit integers: an int hashes in C, a UUID in Python
# code (`UUID.__hash__`), run at every lookup of a key that holds one, several times an event.
_Counted = tuple[int, int, int, str, bool]  # campaign, minute, activity (0: none), device, new


@lru_cache(maxsize=8192)
def _groups(event_type: str, activity: int, device_type: str, is_new_user: bool) -> tuple[str, ...]:
    return groups_of(event_type, UUID(int=activity) if activity else None, device_type, is_new_user)


class RollupBatch:
    """Counts of the events added with `count=True`, and the visitors of every event added.

    An event updates its minute's row and sketches only; the coarser tiers' rows and sketches
    are made from the minutes' when the batch is written (`count_rows`, `sketches`): a sum and a
    sketch union per minute of the batch, instead of hashing every visitor once per tier.
    """

    def __init__(self) -> None:
        self._ids: dict[int, UUID] = {0: NO_ACTIVITY}  # the batch's UUIDs by their integers
        self._counts: dict[_Counted, CountRow] = {}
        # (campaign, minute) -> group -> (site, sketch): one lookup an event, then the groups.
        self._visitors: dict[tuple[int, int], dict[str, tuple[UUID, hll_sketch]]] = {}

    def add(self, fact: Fact, *, count: bool = True) -> None:
        self._add(*fact, count=count)

    def add_event(self, event: EventOccurred, *, count: bool) -> None:
        """The event's fact added without building it (the consumer's path, every event); events of
        no campaign are left out (no campaign view shows them)."""
        if event.campaign_id is None:
            return
        kind = event.type.value
        purchase = event.purchase if kind == "purchase" else None
        self._add(
            event.site_id,
            event.campaign_id,
            event.activity_id,
            int(event.occurred_at.timestamp()),
            kind,
            event.device.device_type.value,
            event.is_new_user,
            event.visitor_key,
            purchase.amount if purchase is not None else _ZERO,
            count=count,
        )

    def _add(
        self,
        site_id: UUID,
        campaign_id: UUID,
        activity_id: UUID | None,
        ts: int,
        kind: str,
        device_type: str,
        is_new_user: bool,
        visitor_key: str,
        revenue: Decimal,
        *,
        count: bool,
    ) -> None:
        ids = self._ids
        campaign = campaign_id.int
        if campaign not in ids:
            ids[campaign] = campaign_id
        activity = 0
        if activity_id is not None:
            activity = activity_id.int
            if activity not in ids:
                ids[activity] = activity_id
        minute = ts - ts % MINUTE
        if count:
            self._count(site_id, (campaign, minute, activity, device_type, is_new_user),
                        kind, revenue, ts)  # fmt: skip
        sketches = self._visitors.get((campaign, minute))
        if sketches is None:
            sketches = self._visitors[(campaign, minute)] = {}
        for group in _groups(kind, activity, device_type, is_new_user):
            entry = sketches.get(group)
            if entry is None:
                entry = sketches[group] = (site_id, new_sketch())
            entry[1].update(visitor_key)

    def counts_only(self, fact: Fact) -> None:
        """Count the event without its visitor (a loader that keeps sketches apart)."""
        ids = self._ids
        ids.setdefault(fact.campaign_id.int, fact.campaign_id)
        activity = 0 if fact.activity_id is None else fact.activity_id.int
        if activity:
            ids.setdefault(activity, fact.activity_id)  # type: ignore[arg-type]
        key = (fact.campaign_id.int, fact.ts - fact.ts % MINUTE, activity, fact.device_type,
               fact.is_new_user)  # fmt: skip
        self._count(fact.site_id, key, fact.type, fact.revenue, fact.ts)

    def _count(self, site_id: UUID, key: _Counted, kind: str, revenue: Decimal, ts: int) -> None:
        row = self._counts.get(key)
        if row is None:
            row = self._counts[key] = CountRow(site_id)
        row.counts["events"] += 1
        column = TYPE_COLUMNS.get(kind)
        if column is not None:
            row.counts[column] += 1
        if kind == "purchase":
            row.revenue += revenue
        elif kind == "entry":
            row.last_entry_ts = max(row.last_entry_ts or ts, ts)

    def count_rows(self) -> dict[CountKey, CountRow]:
        """Every tier's rows: the minutes', and each coarser bucket's summed from them."""
        ids = self._ids
        rows: dict[CountKey, CountRow] = {}
        for (campaign, minute, activity, device, new), row in self._counts.items():
            c, a = ids[campaign], ids[activity]
            rows[(c, MINUTE, minute, a, device, new)] = row
            for span in SPANS[1:]:
                key = (c, span, minute - minute % span, a, device, new)
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
        for (campaign, minute), groups in self._visitors.items():
            c = self._ids[campaign]
            for group, (site_id, sketch) in groups.items():
                merged[(c, MINUTE, minute, group)] = (site_id, sketch)
                for span in SPANS[1:]:
                    key = (c, span, minute - minute % span, group)
                    entry = unions.get(key)
                    if entry is None:
                        entry = unions[key] = (site_id, hll_union(LG_K))
                    entry[1].update(sketch)
        merged.update(unions)
        return merged

    def entry_totals(self) -> dict[tuple[UUID, UUID], tuple[int, int]]:
        """Confirmed entries counted per (campaign, activity): (count, latest epoch second)."""
        totals: dict[tuple[UUID, UUID], tuple[int, int]] = {}
        for (campaign, _, activity, _, _), row in self._counts.items():
            n = row.counts["entries"]
            if n and row.last_entry_ts is not None:
                key = (self._ids[campaign], self._ids[activity])
                was, last = totals.get(key, (0, row.last_entry_ts))
                totals[key] = (was + n, max(last, row.last_entry_ts))
        return totals

    def campaigns(self) -> list[UUID]:
        found = {k[0] for k in self._visitors} | {k[0] for k in self._counts}
        return sorted(self._ids[c] for c in found)

    def __bool__(self) -> bool:
        return bool(self._visitors or self._counts)
