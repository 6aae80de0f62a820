"""The Elasticsearch AnalyticsStore: every grouping of a campaign in ONE search request.

The search runs on the read alias (`<prefix>`, see common_messaging.analytics_index) with
`size=0`: a bool filter selects the campaign's events in `[start_ts, end_ts)` (plus the optional
activity / device / new-user filters), and the aggregations compute the measures at the top level
(the totals) and under one terms aggregation per dimension (activity, device, new user) and a
`date_histogram` for the timeline. Every measure is exact for the dashboards' sizes: counts are
doc counts, unique visitors are `cardinality` with the highest precision threshold.
"""

from typing import Any, Final
from uuid import UUID

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from common_messaging.analytics_index import INDEX_PREFIX
from dashboard_service.domain.models import Measures, MetricsQuery, RawAggregates
from dashboard_service.errors import AnalyticsUnavailable

# Enough for every activity of a campaign; the catalog caps activities far below this.
MAX_ACTIVITIES: Final = 10_000
# Distinct counts are exact (linear counting) below this threshold, the maximum ES accepts.
PRECISION_THRESHOLD: Final = 40_000
_DEVICE_BUCKETS: Final = 16  # DeviceType has 5 values; room for more without losing any
_TYPE_COUNTS: Final = {
    "visits": "page_view",
    "clicks": "click",
    "form_submits": "form_submit",
}


def _measure_aggs() -> dict[str, Any]:
    """The sub-aggregations that make one Measures, from any bucket (or the top level)."""
    aggs: dict[str, Any] = {
        name: {"filter": {"term": {"type": kind}}} for name, kind in _TYPE_COUNTS.items()
    }
    aggs["unique_visitors"] = {
        "cardinality": {"field": "visitor_key", "precision_threshold": PRECISION_THRESHOLD}
    }
    aggs["purchases"] = {
        "filter": {"term": {"type": "purchase"}},
        "aggs": {
            "revenue": {"sum": {"field": "revenue"}},
            "purchasers": {
                "cardinality": {"field": "visitor_key", "precision_threshold": PRECISION_THRESHOLD}
            },
        },
    }
    return aggs


def build_search(query: MetricsQuery) -> dict[str, Any]:
    """The keyword arguments of the single `client.search` call (exposed for tests)."""
    filters: list[dict[str, Any]] = [
        {"term": {"campaign_id": str(query.campaign_id)}},
        {
            "range": {
                "occurred_at": {
                    "gte": query.start_ts,
                    "lt": query.end_ts,
                    "format": "epoch_second",
                }
            }
        },
    ]
    if query.activity_id is not None:
        filters.append({"term": {"activity_id": str(query.activity_id)}})
    if query.device_type is not None:
        filters.append({"term": {"device_type": query.device_type}})
    if query.new_user is not None:
        filters.append({"term": {"is_new_user": query.new_user}})
    measures = _measure_aggs()
    aggs: dict[str, Any] = {
        **measures,
        "by_activity": {
            "terms": {"field": "activity_id", "size": MAX_ACTIVITIES},
            "aggs": measures,
        },
        "by_device": {
            "terms": {"field": "device_type", "size": _DEVICE_BUCKETS},
            "aggs": measures,
        },
        "by_new_user": {"terms": {"field": "is_new_user", "size": 2}, "aggs": measures},
        "timeline": {
            # Fixed intervals round epoch-aligned in UTC: the same `ts - ts % interval` as SQL.
            "date_histogram": {
                "field": "occurred_at",
                "fixed_interval": f"{int(query.interval_seconds)}s",
                "min_doc_count": 1,
            },
            "aggs": measures,
        },
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
        try:
            response = self._client.search(
                index=self._alias,
                # Before the first event is indexed there is no index behind the alias: no data.
                ignore_unavailable=True,
                allow_no_indices=True,
                **build_search(query),
            )
        except TransportError as exc:  # unreachable or timed out
            raise AnalyticsUnavailable(type(exc).__name__) from exc
        except ApiError as exc:
            if exc.meta.status < 500:
                raise
            # e.g. 503 while a just-created monthly index is still allocating its shard
            raise AnalyticsUnavailable(f"elasticsearch answered {exc.meta.status}") from exc
        body: dict[str, Any] = response.body
        aggs: dict[str, Any] | None = body.get("aggregations")
        if aggs is None:
            return RawAggregates()
        total = int(body["hits"]["total"]["value"])
        result = RawAggregates(totals=_measures(total, aggs))
        for bucket in aggs["by_activity"]["buckets"]:
            result.by_activity[UUID(str(bucket["key"]))] = _bucket_measures(bucket)
        for bucket in aggs["by_device"]["buckets"]:
            result.by_device[str(bucket["key"])] = _bucket_measures(bucket)
        for bucket in aggs["by_new_user"]["buckets"]:
            # Booleans come back as 1/0 keys (with "true"/"false" in key_as_string).
            result.by_new_user[bool(bucket["key"])] = _bucket_measures(bucket)
        for bucket in aggs["timeline"]["buckets"]:
            result.by_bucket[int(bucket["key"]) // 1000] = _bucket_measures(bucket)
        return result

    def ping(self) -> None:
        """Raise unless the cluster answers and can serve searches (not red)."""
        health = self._client.cluster.health(timeout="2s")
        if health.body.get("status") == "red":
            raise ConnectionError("elasticsearch cluster status is red")


def _bucket_measures(bucket: dict[str, Any]) -> Measures:
    return _measures(int(bucket["doc_count"]), bucket)


def _measures(events: int, aggs: dict[str, Any]) -> Measures:
    purchases = aggs["purchases"]
    return Measures(
        events=events,
        visits=int(aggs["visits"]["doc_count"]),
        clicks=int(aggs["clicks"]["doc_count"]),
        form_submits=int(aggs["form_submits"]["doc_count"]),
        purchases=int(purchases["doc_count"]),
        # Rounding to cents drops the binary-sum noise of doubles.
        revenue=round(float(purchases["revenue"]["value"] or 0.0), 2),
        unique_visitors=int(aggs["unique_visitors"]["value"]),
        purchasers=int(purchases["purchasers"]["value"]),
    )
