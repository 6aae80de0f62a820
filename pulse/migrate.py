"""`pulse migrate`: database schema, Kafka topics and the Elasticsearch template, idempotently."""

import logging

from sqlalchemy.engine import make_url

from analytics_index.elasticsearch import ElasticsearchAnalyticsIndex
from analytics_index.factory import elasticsearch_client
from common_messaging.bus import prepare_bus
from migrations.runner import upgrade
from servicekit.settings import CommonSettings

log = logging.getLogger(__name__)


def migrate_all(settings: CommonSettings) -> None:
    url = settings.resolved_database_url
    upgrade(url)
    log.info("database_migrated url=%s", make_url(url).render_as_string(hide_password=True))
    created = prepare_bus(settings.bus)
    if settings.kafka_bootstrap_servers:
        log.info("kafka_topics_ready created=%s", ",".join(created) or "none")
    if settings.elasticsearch_url:
        client = elasticsearch_client(settings.elasticsearch_url)
        try:
            ElasticsearchAnalyticsIndex(
                client, settings.elasticsearch_index_prefix
            ).ensure_template()
        finally:
            client.close()
        log.info("elasticsearch_template_ready prefix=%s", settings.elasticsearch_index_prefix)
