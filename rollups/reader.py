"""Read a campaign view (or a site's visits) from the rollups: one statement for the counts,
one for the sketches.

A view `[start, end)` on whole minutes reads its whole hours from the hour rows and its partial
edge hours from the minute rows (minute rows throughout when the timeline is per minute): the
counts are exact to the minute, and unique visitors are the union of the same buckets'
sketches. Callers check that the range is on whole minutes (`on_whole_minutes`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    Uuid,
    and_,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from datastore.schema import RollupCount, RollupSketch
from rollups.batch import COUNT_COLUMNS, HOUR, MINUTE, NO_ACTIVITY
from rollups.groups import ALL, PURCHASED
from rollups.sketches import VisitorUnion

_counts: Table = RollupCount.__table__  # type: ignore[assignment]
_sketches: Table = RollupSketch.__table__  # type: ignore[assignment]
_PREVIOUS_GROUPS: Final = (ALL, PURCHASED)


@dataclass(frozen=True, slots=True)
class CountSums:
    events: int = 0
    visits: int = 0
    clicks: int = 0
    form_submits: int = 0
    purchases: int = 0
    entries: int = 0
    revenue: float = 0.0


@dataclass
class CampaignRollup:
    totals: CountSums = CountSums()
    by_activity: dict[UUID, CountSums] = field(default_factory=dict)
    by_device: dict[str, CountSums] = field(default_factory=dict)
    by_new_user: dict[bool, CountSums] = field(default_factory=dict)
    by_bucket: dict[int, CountSums] = field(default_factory=dict)
    # Every confirmed entry per activity, whatever the range: (count, latest epoch second).
    entries: dict[UUID, tuple[int, int]] = field(default_factory=dict)
    visitors: dict[str, int] = field(default_factory=dict)  # unique visitors per group
    previous: CountSums | None = None
    previous_visitors: dict[str, int] = field(default_factory=dict)


def on_whole_minutes(*timestamps: int) -> bool:
    return all(ts % MINUTE == 0 for ts in timestamps)


def pieces(start: int, end: int, interval: int) -> list[tuple[int, int, int]]:
    """(span, from, to) of the rows that cover `[start, end)` exactly."""
    if interval >= HOUR:
        first, last = -(-start // HOUR) * HOUR, end - end % HOUR
        if first < last:
            return [(MINUTE, start, first), (HOUR, first, last), (MINUTE, last, end)]
    return [(MINUTE, start, end)]


def _covering(table: Table, start: int, end: int, interval: int) -> ColumnElement[bool]:
    c = table.c
    return or_(
        *(
            and_(c.span == span, c.bucket_ts >= lo, c.bucket_ts < hi)
            for span, lo, hi in pieces(start, end, interval)
            if lo < hi
        )
    )


def _sums() -> list[ColumnElement[Any]]:
    c = _counts.c
    return [
        *(func.coalesce(func.sum(c[name]), 0).label(name) for name in COUNT_COLUMNS),
        func.coalesce(func.sum(c.revenue), 0).label("revenue"),
        func.max(c.last_entry_ts).label("last_entry_ts"),
    ]


def counts_statement(
    campaign_id: UUID, start: int, end: int, interval: int, previous: tuple[int, int] | None
) -> Select[Any]:
    c = _counts.c
    view = [c.campaign_id == campaign_id, _covering(_counts, start, end, interval)]
    interval_col = literal_column(str(int(interval)), BigInteger)

    def branch(
        dim: str, key: str | None = None, expr: ColumnElement[Any] | None = None, *where: Any
    ) -> Select[Any]:
        keys: dict[str, ColumnElement[Any]] = {
            "k_activity": cast(null(), Uuid),
            "k_device": cast(null(), String),
            "k_new": cast(null(), Boolean),
            "k_bucket": cast(null(), BigInteger),
        }
        if key is not None and expr is not None:
            keys[key] = expr
        stmt = select(
            literal_column(f"'{dim}'", String).label("dim"),
            *(value.label(name) for name, value in keys.items()),
            *_sums(),
        ).where(*(where or view))
        return stmt.group_by(expr) if expr is not None else stmt

    branches = [
        branch("total"),
        branch("activity", "k_activity", c.activity_id),
        branch("device", "k_device", c.device_type),
        branch("new_user", "k_new", c.is_new_user),
        branch("bucket", "k_bucket", c.bucket_ts - c.bucket_ts % interval_col),
        # Capacity is used up by every entry: all hour rows, whatever the range.
        branch(
            "entries",
            "k_activity",
            c.activity_id,
            c.campaign_id == campaign_id,
            c.span == HOUR,
            c.entries > 0,
        ),
    ]
    if previous is not None:
        before = _covering(_counts, previous[0], previous[1], interval)
        branches.append(branch("previous", None, None, c.campaign_id == campaign_id, before))
    return union_all(*branches)  # type: ignore[return-value]


def sketches_statement(
    campaign_id: UUID, start: int, end: int, interval: int, previous: tuple[int, int] | None
) -> Select[Any]:
    s = _sketches.c
    view = select(literal_column("0", BigInteger).label("prev"), s.grp, s.sketch).where(
        s.campaign_id == campaign_id, _covering(_sketches, start, end, interval)
    )
    if previous is None:
        return view
    before = select(literal_column("1", BigInteger).label("prev"), s.grp, s.sketch).where(
        s.campaign_id == campaign_id,
        s.grp.in_(_PREVIOUS_GROUPS),
        _covering(_sketches, previous[0], previous[1], interval),
    )
    return union_all(view, before)  # type: ignore[return-value]


def read_campaign(
    conn: Connection,
    campaign_id: UUID,
    start: int,
    end: int,
    interval: int,
    previous: tuple[int, int] | None = None,
) -> CampaignRollup:
    result = CampaignRollup()
    for row in conn.execute(counts_statement(campaign_id, start, end, interval, previous)):
        _add_count_row(result, row._mapping)
    unions: tuple[dict[str, VisitorUnion], dict[str, VisitorUnion]] = ({}, {})
    for prev, group, sketch in conn.execute(
        sketches_statement(campaign_id, start, end, interval, previous)
    ):
        unions[int(prev)].setdefault(group, VisitorUnion()).add(sketch)
    result.visitors = {g: u.estimate() for g, u in unions[0].items()}
    result.previous_visitors = {g: u.estimate() for g, u in unions[1].items()}
    return result


def _add_count_row(result: CampaignRollup, row: Any) -> None:
    dim = row["dim"]
    if dim == "entries":
        activity = _uuid(row["k_activity"])
        result.entries[activity] = (int(row["entries"]), int(row["last_entry_ts"] or 0))
        return
    sums = CountSums(
        **{name: int(row[name]) for name in COUNT_COLUMNS},
        revenue=round(float(Decimal(row["revenue"] or 0)), 2),
    )
    if dim == "total":
        result.totals = sums
    elif dim == "previous":
        result.previous = sums
    elif dim == "activity":
        activity = _uuid(row["k_activity"])
        if activity != NO_ACTIVITY:
            result.by_activity[activity] = sums
    elif dim == "device":
        result.by_device[str(row["k_device"])] = sums
    elif dim == "new_user":
        result.by_new_user[bool(row["k_new"])] = sums
    elif dim == "bucket":
        result.by_bucket[int(row["k_bucket"])] = sums


@dataclass(frozen=True, slots=True)
class CampaignVisits:
    visits: int
    unique_visitors: int


def read_site_visits(
    conn: Connection, site_id: UUID, start: int, end: int
) -> dict[UUID, CampaignVisits]:
    """Page views and unique visitors per campaign of the site in `[start, end)`."""
    c, s = _counts.c, _sketches.c
    visits = {
        _uuid(cid): int(n)
        for cid, n in conn.execute(
            select(c.campaign_id, func.sum(c.visits))
            .where(c.site_id == site_id, _covering(_counts, start, end, HOUR))
            .group_by(c.campaign_id)
        )
    }
    unions: dict[UUID, VisitorUnion] = {}
    for cid, sketch in conn.execute(
        select(s.campaign_id, s.sketch).where(
            s.site_id == site_id, s.grp == ALL, _covering(_sketches, start, end, HOUR)
        )
    ):
        unions.setdefault(_uuid(cid), VisitorUnion()).add(sketch)
    return {
        cid: CampaignVisits(visits.get(cid, 0), union.estimate()) for cid, union in unions.items()
    }


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


__all__: Sequence[str] = (
    "CampaignRollup",
    "CampaignVisits",
    "CountSums",
    "on_whole_minutes",
    "pieces",
    "read_campaign",
    "read_site_visits",
)
