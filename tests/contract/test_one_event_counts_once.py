"""One event id counts once, in every store and summary, whether it repeats within one batch or
across batches: event_occurrences, purchases, the user's summary (event_count, purchase_count,
total_spent), the analytics index and (full stack) the rollups the dashboard reads.

Runs the consumer's write path (BatchWriter: EventOccurrenceService, the SQL repository, the
index) on the embedded stack (SQLite, the SQL index) and on the full one (Postgres,
Elasticsearch fed pre-serialised `_bulk` lines, as the worker's index group applies them, and
the rollups). A batch holding `[e, e]` is what a producer retry inside one poll delivers;
without the service's in-batch dedup the summary would count the purchase twice while the
occurrence table (ON CONFLICT) still held one row.
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import func, select

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.feed import create_lines
from analytics_index.ports import AnalyticsIndex
from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import EventOccurred
from core_service.consumer.writers import BatchWriter
from core_service.domain.occurrences import EventOccurrenceService
from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.rollup_analytics import RollupAnalyticsStore
from dashboard_service.adapters.sql_analytics import SqlAnalyticsStore
from dashboard_service.domain.models import Measures, MetricsQuery
from datastore.engine import make_engine
from datastore.schema import EventOccurrence, Purchase, UserSummary
from migrations.runner import upgrade
from rollups.writer import record_occurrences
from servicekit.database import Database
from tests.contract.test_analytics_pipeline_contract import es_prefix
from tests.engines import engine_url, scratch_postgres_database
from tests.support.factories import NOW, occurrence, purchase, seed_site


@dataclass(frozen=True)
class Stack:
    database: Database
    write: BatchWriter
    metrics: Callable[[uuid.UUID], Measures]
    # The full stack's dashboard rollups, written in the same transaction (rollups/).
    rolled_up: Callable[[uuid.UUID], Measures] | None = None


class _Fed:
    """The index as the worker feeds it: each event's pre-serialised `_bulk` lines (what the
    store group produces to the feed topic), applied as the index group applies them."""

    def __init__(self, index: ElasticsearchAnalyticsIndex, prefix: str) -> None:
        self._index, self._prefix = index, prefix

    def index(self, events: Sequence[EventOccurred]) -> None:
        self._index.apply_bulk_lines([create_lines(e, self._prefix) for e in events])

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self._index.remove(events)

    def ping(self) -> None:
        self._index.ping()


def _stack(
    database: Database,
    index: AnalyticsIndex,
    read: Callable[[uuid.UUID], Measures],
    rolled_up: Callable[[uuid.UUID], Measures] | None = None,
) -> Stack:
    writer = BatchWriter(
        database,
        index,
        EventOccurrenceService(),
        rollups=record_occurrences if rolled_up is not None else None,
    )
    return Stack(database, writer, read, rolled_up)


def _query(campaign_id: uuid.UUID) -> MetricsQuery:
    start = int(NOW.timestamp()) - 3600
    return MetricsQuery(campaign_id, start, start + 7200, 3600)


@contextmanager
def _embedded(directory: Path) -> Iterator[Stack]:
    url = f"sqlite:///{directory / 'pulse.sqlite3'}"
    upgrade(url)
    database = Database(make_engine(url))
    store = SqlAnalyticsStore(database.engine)
    try:
        yield _stack(
            database,
            SqlAnalyticsIndex(database),
            lambda campaign: store.campaign_metrics(_query(campaign)).totals,
        )
    finally:
        database.dispose()


@contextmanager
def _full() -> Iterator[Stack]:
    client = Elasticsearch(engine_url("elasticsearch"), request_timeout=30)
    try:
        with scratch_postgres_database() as url, es_prefix(client) as prefix:
            upgrade(url)
            database = Database(make_engine(url))
            store = ElasticsearchAnalyticsStore(client, prefix)

            def read(campaign: uuid.UUID) -> Measures:
                client.indices.refresh(index=prefix, ignore_unavailable=True)
                return store.campaign_metrics(_query(campaign)).totals

            rollups = RollupAnalyticsStore(database.engine, store, store)

            def rolled_up(campaign: uuid.UUID) -> Measures:
                return rollups.campaign_metrics(_query(campaign)).totals

            try:
                fed = _Fed(ElasticsearchAnalyticsIndex(client, prefix), prefix)
                yield _stack(database, fed, read, rolled_up)
            finally:
                database.dispose()
    finally:
        client.close()


@pytest.fixture(
    params=["embedded", pytest.param("postgres-elasticsearch", marks=pytest.mark.integration)]
)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with _embedded(tmp_path) if request.param == "embedded" else _full() as built:
        yield built


@dataclass(frozen=True)
class Counts:
    occurrences: int
    purchases: int
    event_count: int
    purchase_count: int
    total_spent: Decimal
    indexed: Measures
    rolled_up: Measures | None


def _counts(stack: Stack, campaign: uuid.UUID) -> Counts:
    with stack.database.reader() as s:
        summary = s.scalars(select(UserSummary)).one()
        return Counts(
            occurrences=int(s.scalar(select(func.count()).select_from(EventOccurrence)) or 0),
            purchases=int(s.scalar(select(func.count()).select_from(Purchase)) or 0),
            event_count=summary.event_count,
            purchase_count=summary.purchase_count,
            total_spent=summary.total_spent,
            indexed=stack.metrics(campaign),
            rolled_up=stack.rolled_up(campaign) if stack.rolled_up else None,
        )


def _shopper(stack: Stack) -> tuple[EventOccurred, EventOccurred, uuid.UUID]:
    """One visitor's page view and purchase of 19.99, in a campaign of their own."""
    with stack.database.unit_of_work() as s:
        site_id = seed_site(s).id
    campaign = uuid.uuid4()
    fields = {"site_id": site_id, "campaign_id": campaign, "anonymous_id": "shopper"}
    return occurrence(**fields), purchase("19.99", **fields), campaign


def _expect_once(counts: Counts) -> None:
    assert (counts.occurrences, counts.purchases) == (2, 1)
    assert (counts.event_count, counts.purchase_count) == (2, 1)
    assert counts.total_spent == Decimal("19.99")
    indexed = counts.indexed
    assert (indexed.events, indexed.visits, indexed.purchases) == (2, 1, 1)
    assert round(indexed.revenue, 2) == 19.99
    if counts.rolled_up is not None:
        rolled = counts.rolled_up
        assert (rolled.events, rolled.visits, rolled.purchases, rolled.revenue) == (2, 1, 1, 19.99)
        assert (rolled.unique_visitors, rolled.purchasers) == (1, 1)


def test_an_event_twice_in_one_batch_counts_once(stack: Stack) -> None:
    view, bought, campaign = _shopper(stack)
    stack.write([bought, view, bought, view])
    _expect_once(_counts(stack, campaign))


def test_an_event_repeated_across_batches_counts_once(stack: Stack) -> None:
    view, bought, campaign = _shopper(stack)
    stack.write([bought])
    stack.write([bought, view])
    stack.write([view, view, bought])
    _expect_once(_counts(stack, campaign))


def test_a_copy_with_another_payload_is_still_the_first_event(stack: Stack) -> None:
    # A replay carries the same id; whatever else differs, the first copy stands everywhere.
    view, bought, campaign = _shopper(stack)
    inflated = bought.model_copy(
        update={"purchase": bought.purchase.model_copy(update={"amount": Decimal("500")})}  # type: ignore[union-attr]
    )
    batches: Sequence[Sequence[EventOccurred]] = ([bought, view, inflated], [inflated])
    for batch in batches:
        stack.write(batch)
    _expect_once(_counts(stack, campaign))
