"""The N+1 way a campaign's metrics used to be read, kept only as the benchmark's baseline.

One search for the campaign's own figures (totals, devices, new vs returning, timeline, funnel:
the production search without its per-activity parts), then one search per activity for that
activity's measures and confirmed entries. It returns the same RawAggregates as the production
store's single search, which the benchmark checks before it times anything.
"""

from dataclasses import replace
from typing import Any
from uuid import UUID

from elasticsearch import Elasticsearch

from dashboard_service.adapters.es_analytics import (
    build_search,
    measure_aggs,
    parse_measures,
    parse_search,
)
from dashboard_service.domain.models import EntryStats, MeasureSet, MetricsQuery, RawAggregates


def campaign_search(query: MetricsQuery) -> dict[str, Any]:
    body = build_search(query)
    body["aggs"] = {
        k: v for k, v in body["aggs"].items() if k not in ("by_activity", "all_entries")
    }
    return body


def activity_search(query: MetricsQuery, activity: UUID) -> dict[str, Any]:
    """The activity's measures in the view, and its confirmed entries whatever the view."""
    view = build_search(replace(query, activity_id=activity))["query"]
    return {
        "size": 0,
        "query": {
            "bool": {
                "filter": [
                    {"term": {"campaign_id": str(query.campaign_id)}},
                    {"term": {"activity_id": str(activity)}},
                ]
            }
        },
        "aggs": {
            "view": {"filter": view, "aggs": measure_aggs(MeasureSet.FULL)},
            "entries": {
                "filter": {"term": {"type": "entry"}},
                "aggs": {"last": {"max": {"field": "occurred_at"}}},
            },
        },
    }


def n_plus_one(
    es: Elasticsearch, index: str, query: MetricsQuery, activities: list[UUID]
) -> RawAggregates:
    search = es.options(request_timeout=60).search
    result = parse_search(search(index=index, **campaign_search(query)).body)
    for activity in activities:
        aggs = search(index=index, **activity_search(query, activity)).body["aggregations"]
        view, entries = aggs["view"], aggs["entries"]
        if view["doc_count"]:
            result.by_activity[activity] = parse_measures(int(view["doc_count"]), view)
        if entries["doc_count"]:
            result.entries_by_activity[activity] = EntryStats(
                entries=int(entries["doc_count"]),
                last_entry_ts=int(entries["last"]["value"]) // 1000,
            )
    return result
