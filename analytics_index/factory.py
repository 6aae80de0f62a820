"""Choose the analytics index: Elasticsearch when configured, else the embedded SQL table."""

from elasticsearch import Elasticsearch

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.ports import AnalyticsIndex
from analytics_index.sql import SqlAnalyticsIndex
from servicekit.database import Database
from servicekit.settings import IndexSettings


def elasticsearch_client(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=30, retry_on_timeout=True, max_retries=3)


def open_analytics_index(settings: IndexSettings, database: Database) -> AnalyticsIndex:
    if settings.elasticsearch_url:
        return ElasticsearchAnalyticsIndex(
            elasticsearch_client(settings.elasticsearch_url), settings.prefix
        )
    return SqlAnalyticsIndex(database)
