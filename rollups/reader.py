"""Read a campaign view (or a site's visits) from the rollups: one statement for the counts,
one for the sketches.

A view `[start, end)` on whole minutes reads its whole hours from the hour rows, the whole 10
minutes of its partial edge hours from the 10-minute rows and the rest (at most 9 minutes an
edge) from the minute rows (`pieces`; finer tiers throughout when the timeline's buckets are
finer): the counts are exact to the minute, and unique visitors are the union of the same
buckets' sketches. Callers check that the range is on whole minutes (`on_whole_minutes`).
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
    Numeric,
    Select,
    String,
    Table,
    Uuid,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
)

from datastore.schema import RollupCount, RollupEntryTotal, RollupSketch
from rollups.batch import COUNT_COLUMNS, HOUR, MINUTE, NO_ACTIVITY, TEN_MINUTES
from rollups.groups import ALL, PURCHASED
from rollups.sketches import VisitorUnion

_counts: Table = RollupCount.__table__  # type: ignore[assignment]
_sketches: Table = RollupSketch.__table__  # type: ignore[assignment]
_entry_totals: Table = RollupEntryTotal.__table__  # type: ignore[assignment]
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


@dataclass(frozen=True, slots=True)
class View:
    """A campaign view `[start, end)` with its timeline's bucket (`interval`), and the previous
    period whose totals the trends compare against."""

    campaign_id: UUID
    start: int
    end: int
    interval: int
    previous: tuple[int, int] | None = None


def on_whole_minutes(*timestamps: int) -> bool:
    return all(ts % MINUTE == 0 for ts in timestamps)


def pieces(start: int, end: int, interval: int) -> list[tuple[int, int, int]]:
    """(span, from, to) of the fewest rows that cover `[start, end)` exactly: the coarsest tier
    whose buckets fit the timeline's (`interval`) in the middle, finer tiers at the edges."""
    tiers = [span for span in (HOUR, TEN_MINUTES, MINUTE) if interval % span == 0]
    return _cover(start, end, tiers)


def _cover(start: int, end: int, tiers: list[int]) -> list[tuple[int, int, int]]:
    if start >= end:
        return []
    span, finer = tiers[0], tiers[1:]
    if not finer:
        return [(span, start, end)]
    first, last = -(-start // span) * span, end - end % span
    if first >= last:
        return _cover(start, end, finer)
    return [*_cover(start, first, finer), (span, first, last), *_cover(last, end, finer)]


def _covering(table: Table, start: int, end: int, interval: int) -> ColumnElement[bool]:
    c = table.c
    return or_(
        false(),  # an empty range reads nothing
        *(
            and_(c.span == span, c.bucket_ts >= lo, c.bucket_ts < hi)
            for span, lo, hi in pieces(start, end, interval)
        ),
    )


def _sums() -> list[ColumnElement[Any]]:
    c = _counts.c
    return [
        *(func.coalesce(func.sum(c[name]), 0).label(name) for name in COUNT_COLUMNS),
        func.coalesce(func.sum(c.revenue), 0).label("revenue"),
        cast(null(), BigInteger).label("last_entry_ts"),
    ]


def _keys(**given: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    nulls: dict[str, ColumnElement[Any]] = {
        "k_activity": cast(null(), Uuid),
        "k_device": cast(null(), String),
        "k_new": cast(null(), Boolean),
        "k_bucket": cast(null(), BigInteger),
    }
    return [given.get(name, value).label(name) for name, value in nulls.items()]


def _dimension(label: str) -> ColumnElement[Any]:
    return literal_column(f"'{label}'", String).label("dim")


def counts_statement(view: View, dialect: str = "postgresql") -> Select[Any]:
    """The view's counts per grouping, the previous period's totals and every entry per
    activity, in one statement. On Postgres the view's rows are read once (GROUPING SETS);
    SQLite has none, so there each grouping reads them again (a UNION ALL branch each)."""
    c, campaign_id, previous = _counts.c, view.campaign_id, view.previous
    rows = (c.campaign_id == campaign_id, _covering(_counts, view.start, view.end, view.interval))
    bucket = c.bucket_ts - c.bucket_ts % literal_column(str(int(view.interval)), BigInteger)
    groupings: dict[str, ColumnElement[Any]] = {
        "k_activity": c.activity_id,
        "k_device": c.device_type,
        "k_new": c.is_new_user,
        "k_bucket": bucket,
    }
    branches: list[Select[Any]] = []
    if dialect == "postgresql":
        # GROUPING(a, d, n, b) is a bit mask of the keys NOT grouped by: its row's grouping.
        mask = func.grouping(*groupings.values())
        dim = case(
            {0b1111: "total", 0b0111: "activity", 0b1011: "device", 0b1101: "new_user"},
            value=mask,
            else_="bucket",
        )
        branches.append(
            select(dim.label("dim"), *_keys(**groupings), *_sums())
            .where(*rows)
            .group_by(func.grouping_sets(tuple_(), *(tuple_(k) for k in groupings.values())))
        )
    else:
        branches.append(select(_dimension("total"), *_keys(), *_sums()).where(*rows))
        for label, key in zip(("activity", "device", "new_user", "bucket"), groupings, strict=True):
            expr = groupings[key]
            branches.append(
                select(_dimension(label), *_keys(**{key: expr}), *_sums())
                .where(*rows)
                .group_by(expr)
            )
    if previous is not None:
        # Totals only: the coarsest tiers whatever the timeline.
        before = _covering(_counts, previous[0], previous[1], HOUR)
        branches.append(
            select(_dimension("previous"), *_keys(), *_sums()).where(
                c.campaign_id == campaign_id, before
            )
        )
    # Capacity is used up by every entry, whatever the range: one row per activity.
    e = _entry_totals.c
    counted = {name: literal_column("0", BigInteger).label(name) for name in COUNT_COLUMNS}
    counted["entries"] = e.entries.label("entries")
    branches.append(
        select(
            _dimension("entries"),
            *_keys(k_activity=e.activity_id),
            *counted.values(),
            literal_column("0", Numeric).label("revenue"),
            e.last_entry_ts,
        ).where(e.campaign_id == campaign_id)
    )
    return union_all(*branches)  # type: ignore[return-value]


def sketches_statement(view: View) -> Select[Any]:
    """The sketches of the view's buckets (unique visitors need no timeline: the coarsest
    tiers), then the previous period's everyone and purchasers."""
    s, campaign_id, previous = _sketches.c, view.campaign_id, view.previous
    current = select(literal_column("0", BigInteger).label("prev"), s.grp, s.sketch).where(
        s.campaign_id == campaign_id, _covering(_sketches, view.start, view.end, HOUR)
    )
    if previous is None:
        return current
    before = select(literal_column("1", BigInteger).label("prev"), s.grp, s.sketch).where(
        s.campaign_id == campaign_id,
        s.grp.in_(_PREVIOUS_GROUPS),
        _covering(_sketches, previous[0], previous[1], HOUR),
    )
    return union_all(current, before)  # type: ignore[return-value]


SketchRows = Sequence[tuple[int, str, bytes]]


def read_counts(conn: Connection, view: View) -> CampaignRollup:
    """The view's counts (its unique visitors: `fetch_sketches`, then `union_sketches`)."""
    result = CampaignRollup()
    for row in conn.execute(counts_statement(view, conn.dialect.name)):
        _add_count_row(result, row._mapping)
    return result


def fetch_sketches(conn: Connection, view: View) -> SketchRows:
    stmt = sketches_statement(view)
    if conn.dialect.name != "postgresql":
        return [(int(p), str(g), bytes(sketch)) for p, g, sketch in conn.execute(stmt)]
    # Binary results (psycopg; SQLAlchemy asks for text): the sketches' bytes as stored, not
    # as hex text twice their size, encoded by the server and decoded here; about half the time.
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    with conn.connection.driver_connection.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        cursor.execute(str(compiled), compiled.params)
        return [(int(p), str(g), bytes(sketch)) for p, g, sketch in cursor.fetchall()]


def union_sketches(rows: SketchRows) -> tuple[dict[str, int], dict[str, int]]:
    """Unique visitors per group: of the view, and of the previous period."""
    unions: tuple[dict[str, VisitorUnion], dict[str, VisitorUnion]] = ({}, {})
    for prev, group, sketch in rows:
        unions[prev].setdefault(group, VisitorUnion()).add(sketch)
    return (
        {g: u.estimate() for g, u in unions[0].items()},
        {g: u.estimate() for g, u in unions[1].items()},
    )


def read_campaign(conn: Connection, view: View) -> CampaignRollup:
    result = read_counts(conn, view)
    result.visitors, result.previous_visitors = union_sketches(fetch_sketches(conn, view))
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
    "SketchRows",
    "View",
    "fetch_sketches",
    "on_whole_minutes",
    "pieces",
    "read_campaign",
    "read_counts",
    "union_sketches",
    "read_site_visits",
)
