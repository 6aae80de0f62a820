"""The embedded AnalyticsStore: every grouping of a campaign in ONE SQL statement.

The statement is a UNION ALL of GROUP BY branches over `analytics_events`, one per dimension
(totals, activity, device, new/returning, time bucket). Each branch tags its rows with the
dimension name and fills only its own key column, so the result decodes into RawAggregates
without a second query. Built with SQLAlchemy Core: the same SQL runs on SQLite and Postgres.
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

from dashboard_service.domain.models import Measures, MetricsQuery, RawAggregates
from migrations.schema import AnalyticsEvent

_events = AnalyticsEvent.__table__
_c = _events.c

DIM_TOTAL = "total"
DIM_ACTIVITY = "activity"
DIM_DEVICE = "device"
DIM_NEW_USER = "new_user"
DIM_BUCKET = "bucket"


def _count_type(event_type: str) -> ColumnElement[int]:
    return func.count(case((_c.type == event_type, 1)))


def _measures() -> list[ColumnElement[Any]]:
    purchase_revenue = case((_c.type == "purchase", _c.revenue), else_=0)
    return [
        func.count().label("events"),
        _count_type("page_view").label("visits"),
        _count_type("click").label("clicks"),
        _count_type("form_submit").label("form_submits"),
        _count_type("purchase").label("purchases"),
        # Float on the way out: SQLite has no decimals, and 2-decimal rounding follows.
        cast(func.coalesce(func.sum(purchase_revenue), 0), Float).label("revenue"),
        func.count(_c.visitor_key.distinct()).label("unique_visitors"),
        func.count(case((_c.type == "purchase", _c.visitor_key)).distinct()).label("purchasers"),
    ]


def _filters(query: MetricsQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        _c.campaign_id == query.campaign_id,
        _c.occurred_ts >= query.start_ts,
        _c.occurred_ts < query.end_ts,
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
            *_measures(),
        ).where(*where, *extra)
        return stmt.group_by(expr) if expr is not None else stmt

    return union_all(
        branch(DIM_TOTAL),
        branch(DIM_ACTIVITY, "k_activity", _c.activity_id, _c.activity_id.is_not(None)),
        branch(DIM_DEVICE, "k_device", _c.device_type),
        branch(DIM_NEW_USER, "k_new", _c.is_new_user),
        branch(DIM_BUCKET, "k_bucket", _c.occurred_ts - _c.occurred_ts % interval),
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
                result = replace(result, totals=measures)
            elif dim == DIM_ACTIVITY:
                result.by_activity[_as_uuid(row["k_activity"])] = measures
            elif dim == DIM_DEVICE:
                result.by_device[str(row["k_device"])] = measures
            elif dim == DIM_NEW_USER:
                result.by_new_user[bool(row["k_new"])] = measures
            elif dim == DIM_BUCKET:
                result.by_bucket[int(row["k_bucket"])] = measures
        return result


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
    )


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
