"""The Elasticsearch AnalyticsStore: every grouping of a campaign in ONE search request.

The search runs on the read alias (`<prefix>`, see analytics_index.document) with
`size=0`: a bool filter selects the campaign's events in `[start_ts, end_ts)` (plus the optional
activity / device / new-user filters), and the aggregations compute the measures at the top level
(the totals) and under one terms aggregation per dimension (activity, device, new user) and a
`date_histogram` for the timeline. Each grouping computes only its MeasureSet: the cost of the
search is about (events in the view) x (aggregations per event), so no measure the dashboard
does not show is computed. Counts per event type are one `terms` on `type` per bucket; the
funnel's unique visitors come from a `cardinality` under the top-level type buckets (viewed,
clicked) and one filter (entered or purchased). A `global` aggregation, which ignores the query,
adds every confirmed entry per activity (capacity is used up by every entry, whatever the view's
filters). Counts are doc counts, hence exact; unique visitors are `cardinality` with the highest
precision threshold, exact below it (40,000 per bucket) and approximate above.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Final
from uuid import UUID

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from analytics_index.document import INDEX_PREFIX
from dashboard_service.domain.models import (
    GROUPING_MEASURES,
    EntryStats,
    FunnelCounts,
    Measures,
    MeasureSet,
    MetricsQuery,
    RawAggregates,
)
from dashboard_service.errors import AnalyticsUnavailable
from servicekit.engine_metrics import engine_error

# Enough for every activity of a campaign; the catalog caps activities far below this.
MAX_ACTIVITIES: Final = 10_000
# Distinct counts are exact (linear counting) below this threshold, the maximum ES accepts.
PRECISION_THRESHOLD: Final = 40_000
MAX_CAMPAIGNS: Final = 10_000  # a site's campaigns in one overview
_DEVICE_BUCKETS: Final = 16  # DeviceType has 5 values; room for more without losing any
_TYPE_BUCKETS: Final = 16  # EventType has 6 values
_CONVERSION_TYPES: Final = ["entry", "purchase"]


def _unique_visitors() -> dict[str, Any]:
    return {"cardinality": {"field": "visitor_key", "precision_threshold": PRECISION_THRESHOLD}}


def measure_aggs(level: MeasureSet) -> dict[str, Any]:
    """The sub-aggregations that make one Measures of `level`, in any bucket or at the top."""
    aggs: dict[str, Any] = {"types": {"terms": {"field": "type", "size": _TYPE_BUCKETS}}}
    if level >= MeasureSet.VISITORS:
        aggs["unique_visitors"] = _unique_visitors()
    if level >= MeasureSet.FULL:
        aggs["purchases"] = {
            "filter": {"term": {"type": "purchase"}},
            "aggs": {"revenue": {"sum": {"field": "revenue"}}, "purchasers": _unique_visitors()},
        }
    return aggs


def _top_aggs() -> dict[str, Any]:
    """The totals, with the funnel: visitors per type (viewed, clicked), and who converted."""
    aggs = measure_aggs(GROUPING_MEASURES["totals"])
    aggs["types"]["aggs"] = {"visitors": _unique_visitors()}
    aggs["converted"] = {
        "filter": {"terms": {"type": _CONVERSION_TYPES}},
        "aggs": {"visitors": _unique_visitors()},
    }
    return aggs


def _grouping(agg: dict[str, Any], grouping: str) -> dict[str, Any]:
    return {**agg, "aggs": measure_aggs(GROUPING_MEASURES[grouping])}


def _entries_agg(query: MetricsQuery) -> dict[str, Any]:
    """Every confirmed entry of the campaign per activity, outside the query's filters."""
    entries = [{"term": {"campaign_id": str(query.campaign_id)}}, {"term": {"type": "entry"}}]
    return {
        "global": {},
        "aggs": {
            "entries": {
                "filter": {"bool": {"filter": entries}},
                "aggs": {
                    "by_activity": {
                        "terms": {"field": "activity_id", "size": MAX_ACTIVITIES},
                        "aggs": {"last": {"max": {"field": "occurred_at"}}},
                    }
                },
            }
        },
    }


def _filters(query: MetricsQuery, span: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    start_ts, end_ts = span or (query.start_ts, query.end_ts)
    filters: list[dict[str, Any]] = [
        {"term": {"campaign_id": str(query.campaign_id)}},
        {"range": {"occurred_at": {"gte": start_ts, "lt": end_ts, "format": "epoch_second"}}},
    ]
    if query.activity_id is not None:
        filters.append({"term": {"activity_id": str(query.activity_id)}})
    if query.device_type is not None:
        filters.append({"term": {"device_type": query.device_type}})
    if query.new_user is not None:
        filters.append({"term": {"is_new_user": query.new_user}})
    return filters


def build_previous_search(query: MetricsQuery) -> dict[str, Any] | None:
    """The body of the previous period's totals, sent with the view's search in one `_msearch`."""
    if query.previous is None:
        return None
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": _filters(query, query.previous)}},
        "aggs": measure_aggs(GROUPING_MEASURES["totals"]),
    }


def build_search(query: MetricsQuery) -> dict[str, Any]:
    """The keyword arguments of the single `client.search` call (exposed for tests)."""
    filters = _filters(query)
    aggs: dict[str, Any] = {
        **_top_aggs(),
        "by_activity": _grouping(
            {"terms": {"field": "activity_id", "size": MAX_ACTIVITIES}}, "by_activity"
        ),
        "by_device": _grouping(
            {"terms": {"field": "device_type", "size": _DEVICE_BUCKETS}}, "by_device"
        ),
        "by_new_user": _grouping({"terms": {"field": "is_new_user", "size": 2}}, "by_new_user"),
        # Fixed intervals round epoch-aligned in UTC: the same `ts - ts % interval` as SQL.
        "timeline": _grouping(
            {
                "date_histogram": {
                    "field": "occurred_at",
                    "fixed_interval": f"{int(query.interval_seconds)}s",
                    "min_doc_count": 1,
                }
            },
            "by_bucket",
        ),
        "all_entries": _entries_agg(query),
    }
    return {
        "size": 0,
        "track_total_hits": True,  # the totals' event count is the exact hit count
        "query": {"bool": {"filter": filters}},
        "aggs": aggs,
    }


class ElasticsearchAnalyticsStore:
    """AnalyticsStore over the analytics index's read alias; read-only."""

    def __init__(self, client: Elasticsearch, prefix: str = INDEX_PREFIX) -> None:
        self._client = client
        self._alias = prefix

    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        previous = build_previous_search(query)
        if previous is None:
            with _unavailable_on_failure():
                response = self._client.search(
                    index=self._alias,
                    # Before the first event is indexed there is no index behind the alias.
                    ignore_unavailable=True,
                    allow_no_indices=True,
                    **build_search(query),
                )
            return parse_search(response.body)
        # One HTTP request still: the view and the previous period's totals in one _msearch.
        header = {"index": self._alias, "ignore_unavailable": True, "allow_no_indices": True}
        with _unavailable_on_failure():
            answer = self._client.msearch(searches=[header, build_search(query), header, previous])
        current, before = (msearch_answer(r) for r in answer.body["responses"])
        result = parse_search(current)
        return replace(result, previous_totals=_totals_of(before))

    def visits_by_campaign(self, site_id: UUID, start_ts: int, end_ts: int) -> dict[UUID, Measures]:
        """Page views and unique visitors per campaign of the site: one search."""
        with _unavailable_on_failure():
            response = self._client.search(
                index=self._alias,
                ignore_unavailable=True,
                allow_no_indices=True,
                size=0,
                query={
                    "bool": {
                        "filter": [
                            {"term": {"site_id": str(site_id)}},
                            {
                                "range": {
                                    "occurred_at": {
                                        "gte": start_ts,
                                        "lt": end_ts,
                                        "format": "epoch_second",
                                    }
                                }
                            },
                        ]
                    }
                },
                aggs={
                    "campaigns": {
                        "terms": {"field": "campaign_id", "size": MAX_CAMPAIGNS},
                        "aggs": {
                            "visits": {"filter": {"term": {"type": "page_view"}}},
                            "unique_visitors": _unique_visitors(),
                        },
                    }
                },
            )
        aggs = response.body.get("aggregations")
        buckets = aggs["campaigns"]["buckets"] if aggs else ()
        return {
            UUID(str(b["key"])): Measures(
                visits=int(b["visits"]["doc_count"]),
                unique_visitors=int(b["unique_visitors"]["value"]),
            )
            for b in buckets
        }

    def change_marker(self, campaign_id: UUID) -> int:
        """How many events the campaign has (a `_count`: Lucene answers it from the terms
        index). Documents are only ever added, so any change moves it."""
        with _unavailable_on_failure():
            response = self._client.count(
                index=self._alias,
                ignore_unavailable=True,
                allow_no_indices=True,
                query={"term": {"campaign_id": str(campaign_id)}},
            )
        return int(response.body["count"])

    def ping(self) -> None:
        """Raise unless the cluster answers and can serve searches (not red)."""
        health = self._client.cluster.health(timeout="2s")
        if health.body.get("status") == "red":
            raise ConnectionError("elasticsearch cluster status is red")


# (aggregation, RawAggregates field, bucket key -> dict key), for every grouping by a bucket key
_GROUPINGS: Final[tuple[tuple[str, str, Callable[[Any], Any]], ...]] = (
    ("by_activity", "by_activity", lambda key: UUID(str(key))),
    ("by_device", "by_device", str),
    ("by_new_user", "by_new_user", bool),  # booleans come back as 1/0 keys
    ("timeline", "by_bucket", lambda key: int(key) // 1000),  # epoch milliseconds
)


def parse_search(body: dict[str, Any]) -> RawAggregates:
    """The RawAggregates of a `build_search` response; a grouping it did not ask for is empty."""
    aggs: dict[str, Any] | None = body.get("aggregations")
    if aggs is None:  # no index behind the alias yet
        return RawAggregates()
    result = RawAggregates(
        totals=parse_measures(int(body["hits"]["total"]["value"]), aggs),
        funnel=_funnel(aggs),
        entries_by_activity=_entries(aggs.get("all_entries")),
    )
    for name, field, key in _GROUPINGS:
        target = getattr(result, field)
        for bucket in aggs.get(name, {}).get("buckets", ()):
            target[key(bucket["key"])] = parse_measures(int(bucket["doc_count"]), bucket)
    return result


def msearch_answer(response: dict[str, Any]) -> dict[str, Any]:
    """One answer of an _msearch; a failed one raises as a failed search would."""
    error = response.get("error")
    if error is None:
        return response
    status = int(response.get("status", 500))
    if status >= 500:
        raise AnalyticsUnavailable(f"elasticsearch answered {status}")
    raise RuntimeError(f"elasticsearch refused a search: {error}")


def _totals_of(body: dict[str, Any]) -> Measures:
    aggs = body.get("aggregations")
    if aggs is None:
        return Measures()
    return parse_measures(int(body["hits"]["total"]["value"]), aggs)


def _entries(agg: dict[str, Any] | None) -> dict[UUID, EntryStats]:
    buckets = agg["entries"]["by_activity"]["buckets"] if agg else ()
    return {
        UUID(str(b["key"])): EntryStats(
            entries=int(b["doc_count"]),
            # Epoch milliseconds as a double: whole seconds, as the SQL store keeps them.
            last_entry_ts=int(b["last"]["value"]) // 1000,
        )
        for b in buckets
    }


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Engine-side failures become AnalyticsUnavailable (503, retry); our own 4xx stay bugs."""
    try:
        yield
    except TransportError as exc:  # unreachable or timed out
        engine_error("dashboard", "elasticsearch", "query")
        raise AnalyticsUnavailable(type(exc).__name__) from exc
    except ApiError as exc:
        if exc.meta.status < 500:
            raise
        engine_error("dashboard", "elasticsearch", "query")
        # e.g. 503 while a just-created monthly index is still allocating its shard
        raise AnalyticsUnavailable(f"elasticsearch answered {exc.meta.status}") from exc


def parse_measures(events: int, aggs: dict[str, Any]) -> Measures:
    """One Measures from the `measure_aggs` of a bucket (or the top level) with `events` docs;
    the measures its level left out are 0."""
    types = {b["key"]: int(b["doc_count"]) for b in aggs["types"]["buckets"]}
    unique = aggs.get("unique_visitors")
    purchases = aggs.get("purchases")
    return Measures(
        events=events,
        visits=types.get("page_view", 0),
        clicks=types.get("click", 0),
        form_submits=types.get("form_submit", 0),
        purchases=types.get("purchase", 0),
        entries=types.get("entry", 0),
        unique_visitors=int(unique["value"]) if unique else 0,
        # Rounding to cents drops the binary-sum noise of doubles.
        revenue=round(float(purchases["revenue"]["value"] or 0.0), 2) if purchases else 0.0,
        purchasers=int(purchases["purchasers"]["value"]) if purchases else 0,
    )


def _funnel(aggs: dict[str, Any]) -> FunnelCounts:
    by_type = {b["key"]: int(b["visitors"]["value"]) for b in aggs["types"]["buckets"]}
    return FunnelCounts(
        visited=by_type.get("page_view", 0),
        clicked=by_type.get("click", 0),
        converted=int(aggs["converted"]["visitors"]["value"]),
    )
