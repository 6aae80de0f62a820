"""The Elasticsearch analytics index: bulk creates with retries on 429, document id = event id."""

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from common_messaging import EventOccurred
from common_messaging.analytics_index import INDEX_PREFIX, document, index_name, index_template

log = logging.getLogger(__name__)


class IndexingError(RuntimeError):
    """Some documents were refused for a reason other than back-pressure."""


class ElasticsearchAnalyticsIndex:
    def __init__(self, client: Elasticsearch, prefix: str = INDEX_PREFIX) -> None:
        self._client = client
        # The prefix names the template and the read alias too, so tests can isolate themselves.
        self._prefix = prefix

    def ensure_template(self) -> None:
        self._client.indices.put_index_template(name=self._prefix, **index_template(self._prefix))

    def index(self, events: Sequence[EventOccurred]) -> None:
        failures = []
        for ok, item in streaming_bulk(
            self._client,
            self._actions(events),
            chunk_size=1000,
            max_retries=5,  # 429s are retried with exponential backoff by the helper
            initial_backoff=0.5,
            raise_on_error=False,
            raise_on_exception=True,
        ):
            # 409: the event id is indexed already. Keeping the first copy, as the SQL index
            # does with ON CONFLICT DO NOTHING, makes replays harmless on both.
            if not ok and item.get("create", {}).get("status") != 409:
                failures.append(item)
        if failures:
            log.warning("es_bulk_failed count=%d first=%s", len(failures), failures[0])
            raise IndexingError(f"{len(failures)} document(s) refused: {failures[0]}")

    def _actions(self, events: Sequence[EventOccurred]) -> Iterator[dict[str, Any]]:
        for event in events:
            yield {
                "_op_type": "create",
                "_index": index_name(event, self._prefix),
                "_id": str(event.event_id),
                "_source": document(event),
            }

    def ping(self) -> None:
        self._client.cluster.health(timeout="2s")
