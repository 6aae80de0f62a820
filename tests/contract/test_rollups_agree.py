"""The full stack's rollup store against the embedded SQL store on random traffic, every
batch replayed: counts equal field by field, unique visitors within the stated bound.

Ranges on whole minutes with partial edge hours (minute rows next to hour rows), minute and
day timelines, the previous period; filtered views fall back on the raw store.
"""

from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

from dashboard_service.domain.models import Measures, MetricsQuery, RawAggregates
from rollups.sketches import RELATIVE_ERROR_BOUND
from tests.contract.test_analytics_store_contract import (
    BASE,
    CAMPAIGN,
    Row,
    normalised,
    random_rows,
    rollup_store_on,
    sql_store_on,
)

_VISITOR_FIELDS = ("unique_visitors", "purchasers")


def _close(rolled: Measures, exact: Measures, where: str) -> None:
    rolled, exact = (replace(m, revenue=round(m.revenue, 2)) for m in (rolled, exact))
    for name in _VISITOR_FIELDS:
        got, want = getattr(rolled, name), getattr(exact, name)
        assert abs(got - want) <= RELATIVE_ERROR_BOUND * want, (where, name, got, want)
    exact_only = {f.name for f in fields(Measures)} - {*_VISITOR_FIELDS, "visitors_error"}
    assert {n: getattr(rolled, n) for n in exact_only} == {
        n: getattr(exact, n) for n in exact_only
    }, where


def _agree(rolled: RawAggregates, exact: RawAggregates, query: MetricsQuery) -> None:
    rolled, exact = normalised(rolled), normalised(exact)
    _close(rolled.totals, exact.totals, f"totals {query}")
    for grouping in ("by_activity", "by_device", "by_new_user", "by_bucket"):
        got, want = getattr(rolled, grouping), getattr(exact, grouping)
        assert set(got) == set(want), (grouping, query)
        for key in want:
            _close(got[key], want[key], f"{grouping} {key} {query}")
    assert rolled.entries_by_activity == exact.entries_by_activity, query
    if exact.previous_totals is not None:
        assert rolled.previous_totals is not None
        _close(rolled.previous_totals, exact.previous_totals, f"previous {query}")
    assert replace(rolled.funnel) == exact.funnel or all(
        abs(getattr(rolled.funnel, f) - getattr(exact.funnel, f))
        <= RELATIVE_ERROR_BOUND * getattr(exact.funnel, f)
        for f in ("visited", "clicked", "converted")
    ), query


QUERIES = [
    MetricsQuery(CAMPAIGN, BASE, BASE + 2 * 86400, 3600, previous=(BASE - 2 * 86400, BASE)),
    # partial first and last hours: minute rows at both edges
    MetricsQuery(CAMPAIGN, BASE + 1260, BASE + 86400 - 120, 3600, previous=(BASE - 3600, BASE)),
    MetricsQuery(CAMPAIGN, BASE + 1200, BASE + 5400, 60),  # a minute timeline
    MetricsQuery(CAMPAIGN, BASE - 3600, BASE + 2 * 86400, 86400),  # days
    MetricsQuery(CAMPAIGN, BASE + 1234, BASE + 5000, 60),  # not on minutes: the raw store
    MetricsQuery(CAMPAIGN, BASE, BASE + 86400, 3600, device_type="desktop"),  # filtered: raw
]


def check_agreement(
    url: str, directory: Path, rows: Sequence[Row], queries: Sequence[MetricsQuery]
) -> None:
    """The rollups (in the migrated database `url`) of the rows, every batch replayed, against
    the exact SQL store."""
    with (
        rollup_store_on(url, rows) as rolled,
        sql_store_on(f"sqlite:///{directory / 'exact.sqlite3'}", rows) as exact,
    ):
        for query in queries:
            expected = exact.campaign_metrics(query)
            assert expected.totals.entries > 0 and expected.totals.unique_visitors > 0, query
            _agree(rolled.campaign_metrics(query), expected, query)


def test_rollups_and_sql_agree_on_random_traffic_with_replays(
    database_url: str, tmp_path: Path
) -> None:
    check_agreement(database_url, tmp_path, random_rows(seed=20261202), QUERIES)
