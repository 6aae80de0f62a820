"""The embedded AnalyticsStore: every grouping of a campaign in ONE SQL statement.

The statement is a UNION ALL of GROUP BY branches over `analytics_events`, one per dimension
(totals, activity, device, new/returning, time bucket), plus one branch of confirmed entries per
activity that ignores the view's filters (capacity is used up by every entry). Each branch tags
its rows with the dimension name and fills only its own key column, and computes the measures
of its MeasureSet (zeros for the rest, as the Elasticsearch store leaves them out), so the result
decodes into RawAggregates without a second query. The totals branch also counts the funnel's
unique visitors. Built with SQLAlchemy Core: the same SQL runs on SQLite and Postgres.
"""

from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    CompoundSelect,
    Engine,
    Float,
    RowMapping,
    Select,
    String,
    Uuid,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from dashboard_service.domain.models import (
    GROUPING_MEASURES,
    EntryStats,
    FunnelCounts,
    Measures,
    MeasureSet,
    MetricsQuery,
    RawAggregates,
)
from datastore.schema import AnalyticsEvent

_events = AnalyticsEvent.__table__
_c = _events.c

DIM_TOTAL = "total"
DIM_ACTIVITY = "activity"
DIM_DEVICE = "device"
DIM_NEW_USER = "new_user"
DIM_BUCKET = "bucket"
DIM_ENTRIES = "entries"
DIM_PREVIOUS = "previous"
_LEVELS = {
    DIM_TOTAL: GROUPING_MEASURES["totals"],
    DIM_ACTIVITY: GROUPING_MEASURES["by_activity"],
    DIM_DEVICE: GROUPING_MEASURES["by_device"],
    DIM_NEW_USER: GROUPING_MEASURES["by_new_user"],
    DIM_BUCKET: GROUPING_MEASURES["by_bucket"],
    DIM_ENTRIES: MeasureSet.COUNTS,
    DIM_PREVIOUS: GROUPING_MEASURES["totals"],
}
_ZERO = literal_column("0", BigInteger)


def _count_type(event_type: str) -> ColumnElement[int]:
    return func.count(case((_c.type == event_type, 1)))


def _visitors_who(*types: str) -> ColumnElement[int]:
    return func.count(case((_c.type.in_(types), _c.visitor_key)).distinct())


def _measures(level: MeasureSet) -> list[ColumnElement[Any]]:
    visitors = level >= MeasureSet.VISITORS
    full = level >= MeasureSet.FULL
    purchase_revenue = case((_c.type == "purchase", _c.revenue), else_=0)
    return [
        func.count().label("events"),
        _count_type("page_view").label("visits"),
        _count_type("click").label("clicks"),
        _count_type("form_submit").label("form_submits"),
        _count_type("purchase").label("purchases"),
        _count_type("entry").label("entries"),
        func.max(case((_c.type == "entry", _c.occurred_ts))).label("last_entry_ts"),
        (func.count(_c.visitor_key.distinct()) if visitors else _ZERO).label("unique_visitors"),
        (_visitors_who("purchase") if full else _ZERO).label("purchasers"),
        # Float on the way out: SQLite has no decimals, and 2-decimal rounding follows.
        cast(func.coalesce(func.sum(purchase_revenue), 0) if full else _ZERO, Float).label(
            "revenue"
        ),
    ]


def _funnel(compute: bool) -> list[ColumnElement[Any]]:
    """The funnel's unique visitors (totals branch); other branches carry NULLs (one shape)."""
    stages = {
        "f_visited": ("page_view",),
        "f_clicked": ("click",),
        "f_converted": ("entry", "purchase"),
    }
    return [
        (_visitors_who(*types) if compute else cast(null(), BigInteger)).label(name)
        for name, types in stages.items()
    ]


def _filters(query: MetricsQuery, span: tuple[int, int] | None = None) -> list[ColumnElement[bool]]:
    start_ts, end_ts = span or (query.start_ts, query.end_ts)
    conditions: list[ColumnElement[bool]] = [
        _c.campaign_id == query.campaign_id,
        _c.occurred_ts >= start_ts,
        _c.occurred_ts < end_ts,
    ]
    if query.activity_id is not None:
        conditions.append(_c.activity_id == query.activity_id)
    if query.device_type is not None:
        conditions.append(_c.device_type == query.device_type)
    if query.new_user is not None:
        conditions.append(_c.is_new_user == query.new_user)
    return conditions


def build_statement(query: MetricsQuery) -> CompoundSelect[Any]:
    """The single aggregate statement for `query` (exposed for inspection and tests)."""
    # Inlined integer, not a bind parameter: the SELECT and GROUP BY expressions must be
    # textually identical for Postgres to accept the grouping.
    interval = literal_column(str(int(query.interval_seconds)), BigInteger)
    where = _filters(query)

    def branch(
        dim: str,
        key: str | None = None,
        expr: ColumnElement[Any] | None = None,
        *extra: ColumnElement[bool],
        conditions: list[ColumnElement[bool]] = where,  # the entries branch brings its own
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
            *_measures(_LEVELS[dim]),
            *_funnel(dim == DIM_TOTAL),
        ).where(*conditions, *extra)
        return stmt.group_by(expr) if expr is not None else stmt

    has_activity = _c.activity_id.is_not(None)
    previous = (
        [branch(DIM_PREVIOUS, conditions=_filters(query, query.previous))]
        if query.previous is not None
        else []
    )
    return union_all(
        branch(DIM_TOTAL),
        branch(DIM_ACTIVITY, "k_activity", _c.activity_id, has_activity),
        branch(DIM_DEVICE, "k_device", _c.device_type),
        branch(DIM_NEW_USER, "k_new", _c.is_new_user),
        branch(DIM_BUCKET, "k_bucket", _c.occurred_ts - _c.occurred_ts % interval),
        branch(
            DIM_ENTRIES,
            "k_activity",
            _c.activity_id,
            has_activity,
            _c.type == "entry",
            conditions=[_c.campaign_id == query.campaign_id],
        ),
        *previous,
    )


class SqlAnalyticsStore:
    """AnalyticsStore over the `analytics_events` table; read-only."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        with self._engine.connect() as conn:
            rows = conn.execute(build_statement(query)).mappings().all()
        result = RawAggregates()
        for row in rows:
            measures = _measures_of(row)
            dim = row["dim"]
            if dim == DIM_TOTAL:
                result = replace(result, totals=measures, funnel=_funnel_of(row))
            elif dim == DIM_ACTIVITY:
                result.by_activity[_as_uuid(row["k_activity"])] = measures
            elif dim == DIM_DEVICE:
                result.by_device[str(row["k_device"])] = measures
            elif dim == DIM_NEW_USER:
                result.by_new_user[bool(row["k_new"])] = measures
            elif dim == DIM_BUCKET:
                result.by_bucket[int(row["k_bucket"])] = measures
            elif dim == DIM_PREVIOUS:
                result = replace(result, previous_totals=measures)
            elif dim == DIM_ENTRIES:
                result.entries_by_activity[_as_uuid(row["k_activity"])] = EntryStats(
                    entries=measures.entries, last_entry_ts=int(row["last_entry_ts"])
                )
        return result

    def visits_by_campaign(self, site_id: UUID, start_ts: int, end_ts: int) -> dict[UUID, Measures]:
        """Page views and unique visitors per campaign of the site: one GROUP BY."""
        stmt = (
            select(
                _c.campaign_id,
                _count_type("page_view").label("visits"),
                func.count(_c.visitor_key.distinct()).label("unique_visitors"),
            )
            .where(
                _c.site_id == site_id,
                _c.campaign_id.is_not(None),
                _c.occurred_ts >= start_ts,
                _c.occurred_ts < end_ts,
            )
            .group_by(_c.campaign_id)
        )
        with self._engine.connect() as conn:
            return {
                _as_uuid(cid): Measures(visits=int(v), unique_visitors=int(u))
                for cid, v, u in conn.execute(stmt)
            }

    def change_marker(self, campaign_id: UUID) -> int:
        """How many events the campaign has: rows are only ever added, so a change moves it."""
        stmt = select(func.count()).where(_c.campaign_id == campaign_id)
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())


def _measures_of(row: RowMapping) -> Measures:
    return Measures(
        events=int(row["events"]),
        visits=int(row["visits"]),
        clicks=int(row["clicks"]),
        form_submits=int(row["form_submits"]),
        purchases=int(row["purchases"]),
        revenue=float(row["revenue"] or 0.0),
        unique_visitors=int(row["unique_visitors"]),
        purchasers=int(row["purchasers"]),
        entries=int(row["entries"]),
    )


def _funnel_of(row: RowMapping) -> FunnelCounts:
    return FunnelCounts(
        visited=int(row["f_visited"]),
        clicked=int(row["f_clicked"]),
        converted=int(row["f_converted"]),
    )


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
