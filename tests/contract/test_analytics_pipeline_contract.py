"""The analytics pipeline's contract: the same events, written and read by each engine's pair of
adapters, give the same aggregates.

A pipeline is a writer (core_service's analytics index) and a reader (dashboard_service's
analytics store) over one engine: the embedded pair (SqlAnalyticsIndex -> SqlAnalyticsStore on a
migrated SQLite) and the Elasticsearch pair (ElasticsearchAnalyticsIndex -> alias ->
ElasticsearchAnalyticsStore, on an index prefix of its own). Every test runs on both with the
same expectations; `test_pipelines_agree_on_random_traffic` runs both side by side.
"""

import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.feed import create_lines
from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.sql_analytics import SqlAnalyticsStore
from dashboard_service.domain.models import Measures, MetricsQuery, RawAggregates
from dashboard_service.domain.ports import AnalyticsStore
from datastore.engine import make_engine
from migrations.runner import upgrade
from servicekit.database import Database
from tests.engines import engine_url
from tests.support.factories import occurrence, purchase


@dataclass(frozen=True)
class Pipeline:
    write: Callable[[Sequence[EventOccurred]], None]
    store: AnalyticsStore
    remove: Callable[[Sequence[EventOccurred]], None]


@contextmanager
def embedded_pipeline(directory: Path) -> Iterator[Pipeline]:
    url = f"sqlite:///{directory / 'analytics.sqlite3'}"
    upgrade(url)
    database = Database(make_engine(url))
    try:
        index = SqlAnalyticsIndex(database)
        yield Pipeline(index.index, SqlAnalyticsStore(database.engine), index.remove)
    finally:
        database.dispose()


@contextmanager
def es_prefix(client: Elasticsearch) -> Iterator[str]:
    """A fresh index prefix with its template; its indices and template are deleted afterwards."""
    prefix = f"pulse-test-{uuid.uuid4().hex[:8]}"
    ElasticsearchAnalyticsIndex(client, prefix).ensure_template()
    try:
        yield prefix
    finally:
        # Wildcard deletes are refused (action.destructive_requires_name): name each index.
        names = list(client.indices.get(index=f"{prefix}-*", allow_no_indices=True).body)
        if names:
            client.indices.delete(index=",".join(names))
        client.indices.delete_index_template(name=prefix)


def es_writer(client: Elasticsearch, prefix: str) -> Callable[[Sequence[EventOccurred]], None]:
    index = ElasticsearchAnalyticsIndex(client, prefix)

    def write(events: Sequence[EventOccurred]) -> None:
        # As core_service's index group writes: the feed's pre-serialised `_bulk` lines.
        index.apply_bulk_lines([create_lines(e, prefix) for e in events])
        client.indices.refresh(index=prefix, ignore_unavailable=True, allow_no_indices=True)

    return write


@contextmanager
def es_pipeline() -> Iterator[Pipeline]:
    client = Elasticsearch(engine_url("elasticsearch"), request_timeout=30)
    try:
        with es_prefix(client) as prefix:
            index = ElasticsearchAnalyticsIndex(client, prefix)

            def remove(events: Sequence[EventOccurred]) -> None:
                index.remove(events)
                client.indices.refresh(index=prefix, ignore_unavailable=True)

            yield Pipeline(
                es_writer(client, prefix), ElasticsearchAnalyticsStore(client, prefix), remove
            )
    finally:
        client.close()


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.integration)])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pipeline]:
    with embedded_pipeline(tmp_path) if request.param == "embedded" else es_pipeline() as built:
        yield built


CAMPAIGN = uuid.UUID("00000000-0000-4000-8000-00000000000c")
OTHER = uuid.UUID("00000000-0000-4000-8000-00000000000d")
SITE = uuid.UUID("00000000-0000-4000-8000-000000000005")
A1 = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
A2 = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
A3 = uuid.UUID("00000000-0000-4000-8000-0000000000a3")
BASE_AT = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
BASE = int(BASE_AT.timestamp())  # a multiple of 3600


def event(
    activity: uuid.UUID | None,
    kind: EventType,
    offset: float,
    visitor: str,
    device: DeviceType,
    new: bool,
    revenue: str | None = None,
    campaign: uuid.UUID | None = CAMPAIGN,
    user_id: str | None = None,
) -> EventOccurred:
    at = BASE_AT + timedelta(seconds=offset)
    fields: dict[str, Any] = {
        "site_id": SITE,
        "campaign_id": campaign,
        "activity_id": activity,
        "occurred_at": at,
        "received_at": at + timedelta(seconds=1),
        "anonymous_id": visitor,
        "user_id": user_id,
        "device": DeviceInfo(device_type=device),
        "is_new_user": new,
    }
    if kind is EventType.PURCHASE:
        return purchase(revenue or "0", **fields)
    return occurrence(type=kind, **fields)


PV, CLICK, FORM, BUY, CUSTOM = (
    EventType.PAGE_VIEW,
    EventType.CLICK,
    EventType.FORM_SUBMIT,
    EventType.PURCHASE,
    EventType.CUSTOM,
)
MOBILE, DESKTOP, TABLET, BOT, OTHER_DEVICE = (
    DeviceType.MOBILE,
    DeviceType.DESKTOP,
    DeviceType.TABLET,
    DeviceType.BOT,
    DeviceType.OTHER,
)

EVENTS = [
    event(A1, PV, 0, "v1", MOBILE, True),
    event(A1, CLICK, 10, "v1", MOBILE, True),
    event(A1, BUY, 20, "v1", MOBILE, True, "10.25"),
    event(A1, PV, 70, "v2", DESKTOP, False),
    event(A2, PV, 3600, "v2", DESKTOP, False),
    event(A2, FORM, 3610, "v2", DESKTOP, False),
    event(A2, BUY, 3620, "v3", TABLET, True, "99.99"),
    event(A2, BUY, 3630, "v3", TABLET, True, "0.01"),
    # One signed-in visitor on two browsers: counted once, as u:42.
    event(A3, CLICK, 3640, "x1", MOBILE, False, user_id="42"),
    event(A3, PV, 3650, "x2", DESKTOP, False, user_id="42"),
    event(None, PV, 3700, "v4", BOT, False),
    event(None, CUSTOM, 3710, "v4", OTHER_DEVICE, False),
    event(A1, PV, 7199.5, "v5", MOBILE, True),  # half a second before the end: inside
    event(A1, PV, 7200, "v5", MOBILE, True),  # at the end of [BASE, BASE + 7200): outside
    event(A1, PV, -0.5, "v6", MOBILE, True),  # half a second before the start: outside
    event(None, PV, 5, "v7", MOBILE, True, campaign=OTHER),
    event(None, PV, 6, "v8", MOBILE, True, campaign=None),
]


@pytest.fixture
def loaded(pipeline: Pipeline) -> AnalyticsStore:
    pipeline.write(EVENTS)
    return pipeline.store


def rounded(measures: Measures) -> Measures:
    """Revenue to cents: engines may sum in binary floating point."""
    return replace(measures, revenue=round(measures.revenue, 2))


def normalised(raw: RawAggregates) -> RawAggregates:
    return RawAggregates(
        totals=rounded(raw.totals),
        by_activity={k: rounded(m) for k, m in raw.by_activity.items()},
        by_device={k: rounded(m) for k, m in raw.by_device.items()},
        by_new_user={k: rounded(m) for k, m in raw.by_new_user.items()},
        by_bucket={k: rounded(m) for k, m in raw.by_bucket.items()},
    )


def query(
    start: int = BASE, end: int = BASE + 7200, interval: int = 3600, **f: Any
) -> MetricsQuery:
    return MetricsQuery(CAMPAIGN, start, end, interval, **f)


def test_totals(loaded: AnalyticsStore) -> None:
    assert rounded(loaded.campaign_metrics(query()).totals) == Measures(
        events=13,
        visits=6,
        clicks=2,
        form_submits=1,
        purchases=3,
        revenue=110.25,
        unique_visitors=6,
        purchasers=2,
    )


def test_one_row_per_activity_with_events(loaded: AnalyticsStore) -> None:
    by_activity = normalised(loaded.campaign_metrics(query())).by_activity
    assert by_activity == {
        A1: Measures(
            events=5,
            visits=3,
            clicks=1,
            purchases=1,
            revenue=10.25,
            unique_visitors=3,
            purchasers=1,
        ),
        A2: Measures(
            events=4,
            visits=1,
            form_submits=1,
            purchases=2,
            revenue=100.0,
            unique_visitors=2,
            purchasers=1,
        ),
        A3: Measures(events=2, visits=1, clicks=1, unique_visitors=1),
    }


def test_by_device(loaded: AnalyticsStore) -> None:
    by_device = loaded.campaign_metrics(query()).by_device
    assert {k: (m.events, m.unique_visitors) for k, m in by_device.items()} == {
        "mobile": (5, 3),
        "desktop": (4, 2),
        "tablet": (2, 1),
        "bot": (1, 1),
        "other": (1, 1),
    }


def test_new_vs_returning(loaded: AnalyticsStore) -> None:
    by_new = loaded.campaign_metrics(query()).by_new_user
    assert {k: (m.events, m.unique_visitors, m.purchases) for k, m in by_new.items()} == {
        True: (6, 3, 3),
        False: (7, 3, 0),
    }


def test_hour_buckets(loaded: AnalyticsStore) -> None:
    by_bucket = loaded.campaign_metrics(query()).by_bucket
    assert {k: (m.events, m.visits, m.clicks, m.purchases) for k, m in by_bucket.items()} == {
        BASE: (4, 2, 1, 1),
        BASE + 3600: (9, 4, 1, 2),
    }


def test_minute_buckets(loaded: AnalyticsStore) -> None:
    by_bucket = loaded.campaign_metrics(query(BASE, BASE + 120, 60)).by_bucket
    assert {k: m.events for k, m in by_bucket.items()} == {BASE: 3, BASE + 60: 1}


def test_day_buckets_start_at_utc_midnight(loaded: AnalyticsStore) -> None:
    midnight = BASE - 10 * 3600
    raw = loaded.campaign_metrics(query(midnight - 86400, midnight + 86400, 86400))
    assert {k: m.events for k, m in raw.by_bucket.items()} == {midnight: 15}


@pytest.mark.parametrize(
    ("filters", "events", "visitors"),
    [
        ({"activity_id": A2}, 4, 2),
        ({"activity_id": A3}, 2, 1),
        ({"device_type": "desktop"}, 4, 2),
        ({"new_user": True}, 6, 3),
        ({"new_user": False, "device_type": "bot"}, 1, 1),
        ({"device_type": "mobile", "activity_id": A2}, 0, 0),
    ],
)
def test_filters(
    loaded: AnalyticsStore, filters: dict[str, Any], events: int, visitors: int
) -> None:
    raw = loaded.campaign_metrics(query(**filters))
    assert (raw.totals.events, raw.totals.unique_visitors) == (events, visitors)
    for grouping in (raw.by_device, raw.by_new_user, raw.by_bucket):
        assert sum(m.events for m in grouping.values()) == events
    if "activity_id" in filters:
        assert set(raw.by_activity) <= {filters["activity_id"]}


@pytest.mark.parametrize(
    ("start", "end", "events"),
    [
        (BASE + 10, BASE + 70, 2),  # 10 and 20 in; 70 is the end: out
        (BASE + 7199, BASE + 7201, 2),  # 7199.5 and 7200
        (BASE + 7200, BASE + 7201, 1),  # the start is inclusive
        (BASE - 1, BASE, 1),  # -0.5 is in the second before BASE
        (BASE - 1, BASE + 1, 2),
    ],
)
def test_range_is_start_inclusive_end_exclusive(
    loaded: AnalyticsStore, start: int, end: int, events: int
) -> None:
    assert loaded.campaign_metrics(query(start, end, 60)).totals.events == events


def test_other_campaigns_are_excluded(loaded: AnalyticsStore) -> None:
    raw = loaded.campaign_metrics(MetricsQuery(OTHER, BASE - 60, BASE + 60, 60))
    assert (raw.totals.events, raw.totals.unique_visitors) == (1, 1)
    assert raw.by_activity == {}


def test_purchases_revenue_and_purchasers(pipeline: Pipeline) -> None:
    campaign = uuid.uuid4()
    amounts = ["0.10", "0.20", "19.99", "19.99", "19.99", "1234567.89"]
    pipeline.write(
        [
            event(A1, BUY, i, f"buyer{i % 3}", MOBILE, True, amount, campaign=campaign)
            for i, amount in enumerate(amounts)
        ]
        + [event(A1, PV, 10, "looker", MOBILE, True, campaign=campaign)]
    )
    raw = pipeline.store.campaign_metrics(MetricsQuery(campaign, BASE, BASE + 60, 60))
    expected = Measures(
        events=7,
        visits=1,
        purchases=6,
        revenue=1234628.16,
        unique_visitors=4,
        purchasers=3,
    )
    assert rounded(raw.totals) == expected
    assert rounded(raw.by_activity[A1]) == expected


def test_events_across_two_monthly_indices(pipeline: Pipeline) -> None:
    campaign = uuid.uuid4()
    may = datetime(2024, 5, 1, tzinfo=UTC)
    offsets = [-0.5, 0, 1]  # 30 April 23:59:59.5, then 1 May
    pipeline.write(
        [
            event(
                A1,
                PV,
                (may - BASE_AT).total_seconds() + s,
                f"v{i}",
                MOBILE,
                True,
                campaign=campaign,
            )
            for i, s in enumerate(offsets)
        ]
    )
    ts = int(may.timestamp())
    days = pipeline.store.campaign_metrics(MetricsQuery(campaign, ts - 86400, ts + 86400, 86400))
    assert {k: m.events for k, m in days.by_bucket.items()} == {ts - 86400: 1, ts: 2}
    hours = pipeline.store.campaign_metrics(MetricsQuery(campaign, ts - 3600, ts + 3600, 3600))
    assert {k: m.events for k, m in hours.by_bucket.items()} == {ts - 3600: 1, ts: 2}
    assert hours.totals.unique_visitors == 3


def test_replaying_events_changes_nothing(pipeline: Pipeline) -> None:
    pipeline.write(EVENTS)
    before = normalised(pipeline.store.campaign_metrics(query()))
    pipeline.write(EVENTS)
    pipeline.write(list(reversed(EVENTS[:5])))
    assert normalised(pipeline.store.campaign_metrics(query())) == before
    assert before.totals.events == 13


def test_removed_events_stop_counting_and_can_be_indexed_again(pipeline: Pipeline) -> None:
    pipeline.write(EVENTS)
    never_indexed = EVENTS[0].model_copy(update={"event_id": uuid.uuid4()})
    pipeline.remove([*EVENTS[:3], never_indexed])  # absent documents are no error
    assert pipeline.store.campaign_metrics(query()).totals.events == 10
    pipeline.write(EVENTS)
    assert pipeline.store.campaign_metrics(query()).totals.events == 13


def test_empty_campaign_is_all_zero(loaded: AnalyticsStore) -> None:
    raw = loaded.campaign_metrics(MetricsQuery(uuid.uuid4(), BASE, BASE + 7200, 3600))
    assert raw == RawAggregates()


def test_nothing_indexed_yet_is_all_zero(pipeline: Pipeline) -> None:
    assert pipeline.store.campaign_metrics(query()) == RawAggregates()


def random_traffic(seed: int, n: int = 600) -> list[EventOccurred]:
    rng = random.Random(seed)
    activities = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(7)]
    campaigns = [CAMPAIGN, CAMPAIGN, CAMPAIGN, OTHER]
    kinds = [PV, PV, PV, CLICK, CLICK, FORM, BUY, CUSTOM]
    return [
        event(
            rng.choice([*activities, None]),
            kind,
            rng.uniform(-3600, 3 * 86400),
            f"v{rng.randrange(120)}",
            rng.choice(list(DeviceType)),
            rng.random() < 0.4,
            f"{rng.randrange(0, 100_000) / 100:.2f}" if kind is BUY else None,
            campaign=rng.choice(campaigns),
            user_id=str(rng.randrange(30)) if rng.random() < 0.2 else None,
        )
        for kind in (rng.choice(kinds) for _ in range(n))
    ]


@pytest.mark.integration
def test_pipelines_agree_on_random_traffic(tmp_path: Path) -> None:
    events = random_traffic(seed=20240501)
    queries = [
        query(BASE, BASE + 3 * 86400, 3600),
        query(BASE - 7200, BASE + 2 * 86400, 86400),
        query(BASE + 1234, BASE + 5000, 60),
        query(BASE, BASE + 86400, 3600, new_user=False),
        query(BASE, BASE + 86400, 3600, device_type="mobile"),
        query(BASE, BASE + 86400, 3600, device_type="tablet", new_user=True),
    ]
    with embedded_pipeline(tmp_path) as embedded, es_pipeline() as es:
        embedded.write(events)
        es.write(events)
        activity = next(iter(embedded.store.campaign_metrics(queries[0]).by_activity))
        queries.append(replace(queries[0], activity_id=activity))
        for q in queries:
            sql_result = normalised(embedded.store.campaign_metrics(q))
            assert sql_result.totals.events > 0, q
            assert normalised(es.store.campaign_metrics(q)) == sql_result, q
