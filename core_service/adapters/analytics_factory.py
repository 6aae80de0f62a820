"""Choose the analytics index: Elasticsearch when configured, else the embedded SQL table."""

from elasticsearch import Elasticsearch

from core_service.adapters.es_analytics_index import ElasticsearchAnalyticsIndex
from core_service.adapters.sql_analytics_index import SqlAnalyticsIndex
from core_service.domain.indexing import AnalyticsIndex
from servicekit.database import Database
from servicekit.settings import CommonSettings


def elasticsearch_client(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=30, retry_on_timeout=True, max_retries=3)


def open_analytics_index(settings: CommonSettings, database: Database) -> AnalyticsIndex:
    if settings.elasticsearch_url:
        return ElasticsearchAnalyticsIndex(
            elasticsearch_client(settings.elasticsearch_url), settings.elasticsearch_index_prefix
        )
    return SqlAnalyticsIndex(database)
