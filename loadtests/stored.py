"""What Pulse stored after a run, read straight from the database and the analytics index.

The checker needs the truth, not an API's view of it: event ids per row in `event_occurrences`
and per document in the index (Elasticsearch on the full stack, the `analytics_events` table
embedded), and the confirmed rows of `entries`. It waits for the pipeline to drain first:
until every accepted event is in both, or the drain timeout passes.
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan
from sqlalchemy import Engine, create_engine, func, select

from datastore.schema import AnalyticsEvent, Entry, EventOccurrence
from loadtests.checker import FINAL, ConfirmedEntry, Stored

log = logging.getLogger("loadtests.stored")

ENTRY_TYPE = "entry"  # written by core_service on confirmation, never posted by a client


@dataclass(frozen=True)
class Sources:
    database_url: str
    elasticsearch_url: str | None  # None: the embedded index (analytics_events)
    index_prefix: str
    site_id: str
    activity_ids: list[str]


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def collect(
    sources: Sources,
    expected: int,
    admitted: set[str],
    last_accepted_at: float,
    timeout_s: float,
) -> Stored:
    """Wait until `expected` distinct events are in both stores and every admitted entry has a
    decided row (or the timeout), then read. An admitted entry's row appears only when
    core_service has read its reservation from the bus, so rows alone cannot tell."""
    es = Elasticsearch(sources.elasticsearch_url) if sources.elasticsearch_url else None
    try:
        with _engine(sources.database_url) as engine:
            deadline = time.monotonic() + timeout_s
            drain_s: float | None = None
            while True:
                in_db, in_index = _counts(engine, es, sources)
                statuses = _entry_status(engine, sources)
                pending = sum(1 for e in admitted if statuses.get(e) not in FINAL)
                if in_db >= expected and in_index >= expected and pending == 0:
                    drain_s = max(0.0, time.time() - last_accepted_at)
                    break
                if time.monotonic() > deadline:
                    log.warning(
                        "drain_timeout expected=%d database=%d index=%d undecided=%d",
                        expected,
                        in_db,
                        in_index,
                        pending,
                    )
                    break
                time.sleep(0.5)
            return Stored(
                database_events=_database_events(engine, sources),
                index_events=_index_events(engine, es, sources),
                confirmed=_confirmed(engine, sources),
                entry_status=_entry_status(engine, sources),
                drain_s=drain_s,
            )
    finally:
        if es is not None:
            es.close()


def _site(sources: Sources) -> uuid.UUID:
    return uuid.UUID(sources.site_id)


def _counts(engine: Engine, es: Elasticsearch | None, sources: Sources) -> tuple[int, int]:
    site = _site(sources)
    with engine.connect() as conn:
        in_db = conn.scalar(
            select(func.count())
            .select_from(EventOccurrence)
            .where(EventOccurrence.site_id == site, EventOccurrence.type != ENTRY_TYPE)
        )
        if es is None:
            in_index = conn.scalar(
                select(func.count())
                .select_from(AnalyticsEvent)
                .where(AnalyticsEvent.site_id == site, AnalyticsEvent.type != ENTRY_TYPE)
            )
            return int(in_db or 0), int(in_index or 0)
    es.indices.refresh(index=sources.index_prefix)
    found = es.count(index=sources.index_prefix, query=_es_query(sources))
    return int(in_db or 0), int(found["count"])


def _es_query(sources: Sources) -> dict[str, object]:
    return {
        "bool": {
            "filter": [{"term": {"site_id": sources.site_id}}],
            "must_not": [{"term": {"type": ENTRY_TYPE}}],
        }
    }


def _database_events(engine: Engine, sources: Sources) -> dict[str, int]:
    query = (
        select(EventOccurrence.event_id, func.count())
        .where(EventOccurrence.site_id == _site(sources), EventOccurrence.type != ENTRY_TYPE)
        .group_by(EventOccurrence.event_id)
    )
    with engine.connect() as conn:
        return {str(event_id): int(n) for event_id, n in conn.execute(query)}


def _index_events(engine: Engine, es: Elasticsearch | None, sources: Sources) -> dict[str, int]:
    if es is None:
        query = select(AnalyticsEvent.event_id).where(
            AnalyticsEvent.site_id == _site(sources), AnalyticsEvent.type != ENTRY_TYPE
        )
        with engine.connect() as conn:
            return dict(Counter(str(e) for e in conn.scalars(query)))
    # Every document, not an aggregation: a duplicate in a second monthly index must show.
    hits = scan(
        es,
        index=sources.index_prefix,
        query={"query": _es_query(sources), "_source": ["event_id"]},
        size=5000,
    )
    return dict(Counter(str(hit["_source"]["event_id"]) for hit in hits))


def _confirmed(engine: Engine, sources: Sources) -> list[ConfirmedEntry]:
    ids = [uuid.UUID(a) for a in sources.activity_ids]
    query = select(Entry.activity_id, Entry.user_id, Entry.id).where(
        Entry.activity_id.in_(ids), Entry.status == "confirmed"
    )
    with engine.connect() as conn:
        return [ConfirmedEntry(str(a), str(u), str(i)) for a, u, i in conn.execute(query)]


def _entry_status(engine: Engine, sources: Sources) -> dict[str, str]:
    ids = [uuid.UUID(a) for a in sources.activity_ids]
    query = select(Entry.id, Entry.status).where(Entry.activity_id.in_(ids))
    with engine.connect() as conn:
        return {str(i): str(s) for i, s in conn.execute(query)}
