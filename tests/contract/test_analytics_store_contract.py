"""The AnalyticsStore port's contract: every engine returns the same aggregates for the same rows.

Each factory loads the given analytics rows into its engine and yields a store over them: the
embedded SQL store (on SQLite, and on the stack's Postgres) and the Elasticsearch store, whose
factory turns each row into the occurrence it stands for and indexes it through core_service's
writer. tests/contract/test_analytics_pipeline_contract.py checks the writers too, end to end.
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import insert

from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.sql_analytics import SqlAnalyticsStore
from dashboard_service.domain.models import Measures, MetricsQuery
from dashboard_service.domain.ports import AnalyticsStore
from migrations.engine import make_engine
from migrations.runner import upgrade
from migrations.schema import AnalyticsEvent
from tests.contract.test_analytics_pipeline_contract import es_prefix, es_writer
from tests.engines import engine_url, scratch_postgres_database
from tests.support.factories import occurrence, purchase

Row = dict[str, Any]
StoreFactory = Callable[[Path, Sequence[Row]], AbstractContextManager[AnalyticsStore]]


@contextmanager
def sql_store_on(database_url: str, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(AnalyticsEvent), list(rows))
        yield SqlAnalyticsStore(engine)
    finally:
        engine.dispose()


@contextmanager
def sqlite_store(directory: Path, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    with sql_store_on(f"sqlite:///{directory / 'analytics.sqlite3'}", rows) as store:
        yield store


@contextmanager
def postgres_store(directory: Path, rows: Sequence[Row]) -> Iterator[AnalyticsStore]:
    with scratch_postgres_database() as url, sql_store_on(url, rows) as store:
        yield store


def as_event(row: Row) -> EventOccurred:
    """The occurrence a row stands for (its visitor key becomes the anonymous id)."""
    fields: dict[str, Any] = {
        "event_id": row["event_id"],
        "site_id": row["site_id"],
        "campaign_id": row["campaign_id"],
        "activity_id": row["activity_id"],
        "occurred_at": datetime.fromtimestamp(row["occurred_ts"], UTC),
        "received_at": datetime.fromtimestamp(row["occurred_ts"], UTC),
        "anonymous_id": row["visitor_key"],
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


STORE_FACTORIES = [
    pytest.param(sqlite_store, id="sql-sqlite"),
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
    assert raw.totals == Measures()
    assert (raw.by_activity, raw.by_device, raw.by_new_user, raw.by_bucket) == ({}, {}, {}, {})
