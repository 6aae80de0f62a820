"""The AnalyticsStore port's contract: every engine returns the same aggregates for the same rows.

Each factory turns the given rows into the occurrences they stand for and writes them through
core_service's analytics writer for its engine, then yields a store over them: the embedded SQL
store (on SQLite, and on the stack's Postgres) and the Elasticsearch store. Confirmed entries are
occurrences of type `entry` (written by core_service on confirmation, visitor `u:<user id>`).
tests/contract/test_analytics_pipeline_contract.py checks the writers too, end to end.
"""

import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from elasticsearch import Elasticsearch

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.rollup_analytics import RollupAnalyticsStore
from dashboard_service.adapters.sql_analytics import SqlAnalyticsStore
from dashboard_service.domain.models import (
    EntryStats,
    FunnelCounts,
    Measures,
    MetricsQuery,
    RawAggregates,
)
from dashboard_service.domain.ports import AnalyticsStore, SiteTraffic
from datastore.engine import make_engine
from migrations.runner import upgrade
from rollups.entries import CountingEntriesIndex
from rollups.writer import record_occurrences
from servicekit.database import Database
from tests.contract.test_analytics_pipeline_contract import es_prefix, es_writer
from tests.engines import engine_url, scratch_postgres_database
from tests.support.factories import occurrence, purchase

Row = dict[str, Any]
StoreFactory = Callable[[Path, Sequence[Row]], AbstractContextManager[AnalyticsStore]]


@contextmanager
def sql_store_on(database_url: str, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    upgrade(database_url)
    database = Database(make_engine(database_url))
    try:
        SqlAnalyticsIndex(database).index([as_event(r) for r in rows])
        yield SqlAnalyticsStore(database.engine)
    finally:
        database.dispose()


@contextmanager
def sqlite_store(directory: Path, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    with sql_store_on(f"sqlite:///{directory / 'analytics.sqlite3'}", rows) as store:
        yield store


@contextmanager
def postgres_store(directory: Path, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    with scratch_postgres_database() as url, sql_store_on(url, rows) as store:
        yield store


def as_event(row: Row) -> EventOccurred:
    """The occurrence a row stands for: visitor `u:x` is signed-in user x, others anonymous."""
    visitor: str = row["visitor_key"]
    fields: dict[str, Any] = {
        "event_id": row["event_id"],
        "site_id": row["site_id"],
        "campaign_id": row["campaign_id"],
        "activity_id": row["activity_id"],
        "occurred_at": datetime.fromtimestamp(row["occurred_ts"], UTC),
        "received_at": datetime.fromtimestamp(row["occurred_ts"], UTC),
        "anonymous_id": visitor,
        "user_id": visitor.removeprefix("u:") if visitor.startswith("u:") else None,
        "device": DeviceInfo(device_type=DeviceType(row["device_type"])),
        "is_new_user": row["is_new_user"],
    }
    if row["type"] == EventType.PURCHASE:
        return purchase(str(row["revenue"]), **fields)
    return occurrence(type=EventType(row["type"]), **fields)


@contextmanager
def es_store(directory: Path, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    client = Elasticsearch(engine_url("elasticsearch"), request_timeout=30)
    try:
        with es_prefix(client) as prefix:
            es_writer(client, prefix)([as_event(r) for r in rows])
            yield ElasticsearchAnalyticsStore(client, prefix)
    finally:
        client.close()


@contextmanager
def rollup_store_on(database_url: str, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    """The rollups as core_service's consumer keeps them, every batch delivered twice (a replay
    adds nothing), over the SQL store of the same rows for the views rollups cannot answer."""
    with sql_store_on(database_url, rows) as raw:
        database = Database(make_engine(database_url))
        events = [as_event(r) for r in rows]
        occurrences = [e for e in events if e.type is not EventType.ENTRY]
        entries = CountingEntriesIndex(SqlAnalyticsIndex(database), database)
        try:
            for delivery in range(2):
                with database.unit_of_work() as session:
                    new = {e.event_id for e in occurrences} if delivery == 0 else set()
                    record_occurrences(session, occurrences, new)
                entries.index([e for e in events if e.type is EventType.ENTRY])
            sql = cast(SqlAnalyticsStore, raw)
            yield cast(AnalyticsStore, RollupAnalyticsStore(database.engine, sql, sql))
        finally:
            database.dispose()


@contextmanager
def rollup_sqlite_store(directory: Path, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    with rollup_store_on(f"sqlite:///{directory / 'rollups.sqlite3'}", rows) as store:
        yield store


# The rollup store on Postgres (its advisory locks, GREATEST, bytea) is checked against the SQL
# store by tests/contract/test_rollups_agree.py and the consumer's path by
# tests/contract/test_one_event_counts_once.py; here SQLite runs the whole contract on it.
STORE_FACTORIES = [
    pytest.param(sqlite_store, id="sql-sqlite"),
    pytest.param(rollup_sqlite_store, id="rollups-sqlite"),
    pytest.param(postgres_store, id="sql-postgres", marks=pytest.mark.integration),
    pytest.param(es_store, id="elasticsearch", marks=pytest.mark.integration),
]

CAMPAIGN = uuid.UUID("00000000-0000-4000-8000-00000000000c")
OTHER = uuid.UUID("00000000-0000-4000-8000-00000000000d")
SITE = uuid.UUID("00000000-0000-4000-8000-000000000005")
A1 = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
A2 = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
BASE = 1_714_557_600  # 2024-05-01T10:00:00Z, a multiple of 3600


def row(
    activity: uuid.UUID | None,
    type_: str,
    offset: int,
    visitor: str,
    device: str,
    new: bool,
    revenue: str = "0",
    campaign: uuid.UUID | None = CAMPAIGN,
) -> Row:
    return {
        "event_id": uuid.uuid4(),
        "site_id": SITE,
        "campaign_id": campaign,
        "activity_id": activity,
        "type": type_,
        "occurred_ts": BASE + offset,
        "visitor_key": visitor,
        "device_type": device,
        "is_new_user": new,
        "revenue": Decimal(revenue),
    }


ROWS = [
    row(A1, "page_view", 0, "v1", "mobile", True),
    row(A1, "click", 10, "v1", "mobile", True),
    row(A1, "purchase", 20, "v1", "mobile", True, "10.25"),
    row(A1, "page_view", 70, "v2", "desktop", False),
    row(A2, "page_view", 3600, "v2", "desktop", False),
    row(A2, "form_submit", 3610, "v2", "desktop", False),
    row(A2, "purchase", 3620, "v3", "tablet", True, "99.99"),
    row(A2, "purchase", 3630, "v3", "tablet", True, "0.01"),
    row(None, "page_view", 3700, "v4", "bot", False),
    row(None, "custom", 3710, "v4", "other", False),
    row(A1, "page_view", 7200, "v5", "mobile", True),  # outside [BASE, BASE + 7200)
    row(A1, "page_view", -1, "v6", "mobile", True),  # before the window
    row(None, "page_view", 5, "v7", "mobile", True, campaign=OTHER),
    row(None, "page_view", 6, "v8", "mobile", True, campaign=None),
]


def rounded(measures: Measures) -> Measures:
    """Revenue to cents: engines may sum in binary floating point."""
    return replace(measures, revenue=round(measures.revenue, 2))


def query(**filters: Any) -> MetricsQuery:
    return MetricsQuery(CAMPAIGN, BASE, BASE + 7200, 3600, **filters)


@pytest.fixture(params=STORE_FACTORIES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnalyticsStore]:
    factory: StoreFactory = request.param
    with factory(tmp_path, ROWS) as loaded:
        yield loaded


def test_totals(store: AnalyticsStore) -> None:
    totals = rounded(store.campaign_metrics(query()).totals)
    assert totals == Measures(
        events=10,
        visits=4,
        clicks=1,
        form_submits=1,
        purchases=3,
        revenue=110.25,
        unique_visitors=4,
        purchasers=2,
    )


def test_by_activity_excludes_events_without_activity(store: AnalyticsStore) -> None:
    by_activity = {k: rounded(m) for k, m in store.campaign_metrics(query()).by_activity.items()}
    assert set(by_activity) == {A1, A2}
    assert by_activity[A1] == Measures(
        events=4,
        visits=2,
        clicks=1,
        purchases=1,
        revenue=10.25,
        unique_visitors=2,
        purchasers=1,
    )
    assert by_activity[A2] == Measures(
        events=4,
        visits=1,
        form_submits=1,
        purchases=2,
        revenue=100.0,
        unique_visitors=2,
        purchasers=1,
    )


def test_by_device(store: AnalyticsStore) -> None:
    by_device = store.campaign_metrics(query()).by_device
    counts = {k: (m.events, m.unique_visitors) for k, m in by_device.items()}
    assert counts == {
        "mobile": (3, 1),
        "desktop": (3, 1),
        "tablet": (2, 1),
        "bot": (1, 1),
        "other": (1, 1),
    }


def test_by_new_user(store: AnalyticsStore) -> None:
    by_new = store.campaign_metrics(query()).by_new_user
    counts = {k: (m.events, m.unique_visitors, m.purchases) for k, m in by_new.items()}
    assert counts == {True: (5, 2, 3), False: (5, 2, 0)}


def test_by_bucket(store: AnalyticsStore) -> None:
    by_bucket = store.campaign_metrics(query()).by_bucket
    counts = {k: (m.visits, m.clicks, m.purchases, m.events) for k, m in by_bucket.items()}
    assert counts == {BASE: (2, 1, 1, 4), BASE + 3600: (2, 0, 2, 6)}


def test_minute_buckets(store: AnalyticsStore) -> None:
    by_bucket = store.campaign_metrics(MetricsQuery(CAMPAIGN, BASE, BASE + 120, 60)).by_bucket
    assert {k: m.events for k, m in by_bucket.items()} == {BASE: 3, BASE + 60: 1}


@pytest.mark.parametrize(
    ("filters", "events", "visitors"),
    [
        ({"activity_id": A2}, 4, 2),
        ({"device_type": "desktop"}, 3, 1),
        ({"new_user": True}, 5, 2),
        ({"new_user": False, "device_type": "bot"}, 1, 1),
        ({"device_type": "mobile", "activity_id": A2}, 0, 0),
    ],
)
def test_filters(
    store: AnalyticsStore, filters: dict[str, Any], events: int, visitors: int
) -> None:
    raw = store.campaign_metrics(query(**filters))
    assert (raw.totals.events, raw.totals.unique_visitors) == (events, visitors)
    assert sum(m.events for m in raw.by_device.values()) == events
    assert sum(m.events for m in raw.by_bucket.values()) == events


def test_unknown_campaign_is_all_zero(store: AnalyticsStore) -> None:
    raw = store.campaign_metrics(MetricsQuery(uuid.uuid4(), BASE, BASE + 7200, 3600))
    # (a sketch-backed store marks its unique visitors as estimates, even zeros)
    assert replace(raw, visitors_error=None) == RawAggregates()
    assert store.change_marker(uuid.uuid4()) == 0


# Confirmed entries (type `entry`, visitor `u:<user id>`) next to the ROWS' traffic: alice visits,
# clicks and enters; bob and carol only enter; dave's entry is before the window, erin's after.
ENTRIES = [
    row(A1, "page_view", 100, "u:alice", "mobile", True),
    row(A1, "click", 110, "u:alice", "mobile", True),
    row(A1, "entry", 120, "u:alice", "mobile", True),
    row(A1, "entry", 3700, "u:bob", "desktop", False),
    row(A2, "entry", 200, "u:carol", "tablet", True),
    row(A2, "entry", -50, "u:dave", "mobile", False),
    row(A2, "entry", 7300, "u:erin", "desktop", False),
    row(A1, "entry", 10, "u:frank", "mobile", True, campaign=OTHER),
]


@pytest.fixture(params=STORE_FACTORIES)
def with_entries(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnalyticsStore]:
    factory: StoreFactory = request.param
    with factory(tmp_path, ROWS + ENTRIES) as loaded:
        yield loaded


@pytest.mark.parametrize(
    "filters",
    [{}, {"device_type": "tablet"}, {"activity_id": A2}, {"new_user": True}],
)
def test_confirmed_entries_per_activity_ignore_the_view(
    with_entries: AnalyticsStore, filters: dict[str, Any]
) -> None:
    raw = with_entries.campaign_metrics(
        MetricsQuery(CAMPAIGN, BASE + 60, BASE + 120, 60, **filters)
    )
    assert raw.entries_by_activity == {
        A1: EntryStats(entries=2, last_entry_ts=BASE + 3700),
        A2: EntryStats(entries=3, last_entry_ts=BASE + 7300),
    }


def test_entries_in_the_view(with_entries: AnalyticsStore) -> None:
    raw = with_entries.campaign_metrics(query())
    assert (raw.totals.entries, raw.totals.events, raw.totals.unique_visitors) == (3, 15, 7)
    assert {k: m.entries for k, m in raw.by_activity.items()} == {A1: 2, A2: 1}
    assert {k: m.entries for k, m in raw.by_bucket.items()} == {BASE: 2, BASE + 3600: 1}
    assert {k: m.entries for k, m in raw.by_device.items() if m.entries} == {
        "mobile": 1,
        "desktop": 1,
        "tablet": 1,
    }
    mobile = with_entries.campaign_metrics(query(device_type="mobile"))
    assert (mobile.totals.entries, mobile.by_activity[A1].entries) == (1, 1)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # viewed: v1 v2 v4 alice; clicked: v1 alice; entered or bought: v1 v3 alice bob carol
        ({}, FunnelCounts(visited=4, clicked=2, converted=5)),
        ({"device_type": "mobile"}, FunnelCounts(visited=2, clicked=2, converted=2)),
        ({"activity_id": A2}, FunnelCounts(visited=1, clicked=0, converted=2)),
        ({"new_user": False}, FunnelCounts(visited=2, clicked=0, converted=1)),
    ],
)
def test_funnel_counts_unique_visitors_per_stage(
    with_entries: AnalyticsStore, filters: dict[str, Any], expected: FunnelCounts
) -> None:
    assert with_entries.campaign_metrics(query(**filters)).funnel == expected


def test_change_marker_counts_every_event_of_the_campaign(with_entries: AnalyticsStore) -> None:
    rows = ROWS + ENTRIES
    assert with_entries.change_marker(CAMPAIGN) == sum(r["campaign_id"] == CAMPAIGN for r in rows)
    assert with_entries.change_marker(OTHER) == 2


def random_rows(seed: int, n: int = 800, within: tuple[int, int] = (-3600, 2 * 86400)) -> list[Row]:
    """n random events, at seconds from BASE in `within`."""
    rng = random.Random(seed)
    activities = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(6)]
    kinds = ["page_view"] * 4 + ["click"] * 3 + ["form_submit", "purchase", "custom", "entry"]
    rows = []
    for _ in range(n):
        kind = rng.choice(kinds)
        visitor = f"u:{rng.randrange(40)}" if kind == "entry" or rng.random() < 0.3 else None
        rows.append(
            row(
                rng.choice(activities) if kind == "entry" else rng.choice([*activities, None]),
                kind,
                rng.randrange(*within),
                visitor or f"v{rng.randrange(150)}",
                rng.choice(["mobile", "desktop", "tablet", "bot", "other"]),
                rng.random() < 0.4,
                f"{rng.randrange(0, 100_000) / 100:.2f}" if kind == "purchase" else "0",
                campaign=rng.choice([CAMPAIGN, CAMPAIGN, CAMPAIGN, OTHER]),
            )
        )
    return rows


@pytest.mark.integration
def test_sql_and_elasticsearch_agree_on_random_traffic_with_entries(tmp_path: Path) -> None:
    rows = random_rows(seed=20261123)
    queries = [
        MetricsQuery(CAMPAIGN, BASE, BASE + 2 * 86400, 3600),
        MetricsQuery(CAMPAIGN, BASE + 1234, BASE + 5000, 60),
        MetricsQuery(CAMPAIGN, BASE - 3600, BASE + 86400, 86400, new_user=True),
        MetricsQuery(CAMPAIGN, BASE, BASE + 86400, 3600, device_type="desktop"),
    ]
    with sqlite_store(tmp_path, rows) as sql, es_store(tmp_path, rows) as es:
        first = sql.campaign_metrics(queries[0])
        queries.append(replace(queries[0], activity_id=next(iter(first.by_activity))))
        for q in queries:
            expected = normalised(sql.campaign_metrics(q))
            assert expected.totals.entries > 0 and expected.funnel.converted > 0, q
            assert normalised(es.campaign_metrics(q)) == expected, q
        assert sql.change_marker(CAMPAIGN) == es.change_marker(CAMPAIGN) > 0


def normalised(raw: RawAggregates) -> RawAggregates:
    """Every field compared, revenue to cents (engines may sum in binary floating point)."""
    return replace(
        raw,
        totals=rounded(raw.totals),
        by_activity={k: rounded(m) for k, m in raw.by_activity.items()},
        by_device={k: rounded(m) for k, m in raw.by_device.items()},
        by_new_user={k: rounded(m) for k, m in raw.by_new_user.items()},
        by_bucket={k: rounded(m) for k, m in raw.by_bucket.items()},
    )


@pytest.mark.parametrize("filters", [{}, {"device_type": "mobile"}, {"activity_id": A1}])
def test_previous_period_totals_come_with_the_view(
    store: AnalyticsStore, filters: dict[str, Any]
) -> None:
    """The trend's comparison period, answered in the same request, equals a query of it."""
    span = (BASE - 3600, BASE + 3600)
    raw = store.campaign_metrics(replace(query(**filters), previous=span))
    alone = store.campaign_metrics(MetricsQuery(CAMPAIGN, *span, 3600, **filters)).totals
    assert raw.previous_totals is not None
    assert rounded(raw.previous_totals) == rounded(alone)
    assert rounded(raw.totals) == rounded(store.campaign_metrics(query(**filters)).totals)
    assert alone.events > 0


def test_visits_by_campaign_for_the_site_overview(store: AnalyticsStore) -> None:
    """The overview's traffic: page views and unique visitors per campaign of the site, in the
    range; events without a campaign, or of another site, count nowhere."""
    traffic = cast(SiteTraffic, store)

    def visits(start: int, end: int, site: uuid.UUID = SITE) -> dict[uuid.UUID, tuple[int, int]]:
        found = traffic.visits_by_campaign(site, start, end)
        return {k: (m.visits, m.unique_visitors) for k, m in found.items()}

    # v1, v2 (A1 and A2), v3, v4 (no activity); v5 and v6 are outside the range; OTHER: v7
    assert visits(BASE, BASE + 7200) == {CAMPAIGN: (4, 4), OTHER: (1, 1)}
    # v2's two page views; unique visitors: anyone with an event (v1's click, v2)
    assert visits(BASE + 6, BASE + 3601) == {CAMPAIGN: (2, 2)}
    # on whole minutes (what rollups answer): v1 is out; v2's two page views, v3's purchases
    assert visits(BASE + 60, BASE + 3660) == {CAMPAIGN: (2, 2)}
    assert visits(BASE, BASE + 7200, uuid.uuid4()) == {}
