"""The Elasticsearch analytics index: bulk creates with retries on 429, document id = event id."""

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from analytics_index.document import (
    INDEX_PREFIX,
    document_json,
    index_name,
    index_template,
)
from common_messaging import EventOccurred

log = logging.getLogger(__name__)

# Only what the helper reads (each item's status) and what a failure report needs; the full
# per-item answer is several times larger, for Elasticsearch to write and for us to parse.
BULK_RESPONSE_FIELDS = "items.*.status,items.*.error,items.*._id"


class IndexingError(RuntimeError):
    """Some documents were refused (after the helper's retries of 429s).

    `transient` when every refusal is the cluster's state, not the document's: still 429,
    a 5xx, or a cluster block (a read-only index when the disk is full, say). A 400 (a value
    the mapping refuses) is the data's fault and never passes by itself."""

    def __init__(self, message: str, failures: Sequence[dict[str, Any]]) -> None:
        super().__init__(message)
        self.transient = all(_passes(item) for item in failures)


def _passes(item: dict[str, Any]) -> bool:
    result: dict[str, Any] = next(iter(item.values()), {})
    status = int(result.get("status") or 0)
    reason = str((result.get("error") or {}).get("type", ""))
    return status == 429 or status >= 500 or "cluster_block" in reason


# Statuses that mean the operation was done before: a replay.
_TOLERATED = {"create": 409, "delete": 404}


class ElasticsearchAnalyticsIndex:
    def __init__(self, client: Elasticsearch, prefix: str = INDEX_PREFIX) -> None:
        self._client = client
        # The prefix names the template and the read alias too, so tests can isolate themselves.
        self._prefix = prefix

    def ensure_template(self) -> None:
        self._client.indices.put_index_template(name=self._prefix, **index_template(self._prefix))

    def index(self, events: Sequence[EventOccurred]) -> None:
        # 409: the event id is indexed already. Keeping the first copy, as the SQL index does
        # with ON CONFLICT DO NOTHING, makes replays harmless on both.
        failures = self._bulk(self._actions(events), "create", tolerated=409)
        if failures:
            log.warning("es_bulk_failed count=%d first=%s", len(failures), failures[0])
            raise IndexingError(f"{len(failures)} document(s) refused: {failures[0]}", failures)

    def remove(self, events: Sequence[EventOccurred]) -> None:
        deletes = (
            {"_op_type": "delete", "_index": name, "_id": str(event.event_id)}
            for event, name in self._named(events)
        )
        failures = self._bulk(deletes, "delete", tolerated=404)  # 404: never indexed
        if failures:
            raise IndexingError(f"{len(failures)} document(s) not deleted: {failures[0]}", failures)

    def apply_bulk_lines(self, lines: Sequence[bytes]) -> None:
        """Send pre-serialised `_bulk` lines (analytics_index.feed) in one request, as they are.

        A create of an indexed id (409) and a delete of an absent one (404) are replays, fine.
        Anything else refused raises `IndexingError` (transient or the data's; the consumer loop
        retries the first and bisects the second)."""
        if not lines:
            return
        # Bytes go as they are (the NDJSON serializer passes them through); typed for mappings.
        answer = self._client.bulk(operations=lines, filter_path=BULK_RESPONSE_FIELDS)  # type: ignore[arg-type]
        failures = [
            item
            for item in answer.body.get("items", ())
            for op, result in item.items()
            if int(result.get("status") or 0) >= 300
            and int(result.get("status") or 0) != _TOLERATED.get(op)
        ]
        if failures:
            log.warning("es_bulk_failed count=%d first=%s", len(failures), failures[0])
            raise IndexingError(f"{len(failures)} document(s) refused: {failures[0]}", failures)

    def _bulk(
        self, actions: Iterator[dict[str, Any]], op: str, *, tolerated: int
    ) -> list[dict[str, Any]]:
        """Send the actions; the items that failed with another status than `tolerated`."""
        failures = []
        for ok, item in streaming_bulk(
            self._client,
            actions,
            chunk_size=1000,
            max_retries=5,  # 429s are retried with exponential backoff by the helper
            initial_backoff=0.5,
            raise_on_error=False,
            raise_on_exception=True,
            filter_path=BULK_RESPONSE_FIELDS,
        ):
            if not ok and item.get(op, {}).get("status") != tolerated:
                failures.append(item)
        return failures

    def _actions(self, events: Sequence[EventOccurred]) -> Iterator[dict[str, Any]]:
        for event, name in self._named(events):
            yield {
                "_op_type": "create",
                "_index": name,
                "_id": str(event.event_id),
                # Bytes: the helper sends them as they are, without re-serialising.
                "_source": document_json(event),
            }

    def _named(self, events: Sequence[EventOccurred]) -> Iterator[tuple[EventOccurred, str]]:
        # A batch spans a month or two: format each month's index name once, not per event.
        names: dict[tuple[int, int], str] = {}
        for event in events:
            month = (event.occurred_at.year, event.occurred_at.month)
            name = names.get(month)
            if name is None:
                name = names[month] = index_name(event, self._prefix)
            yield event, name

    def ping(self) -> None:
        self._client.cluster.health(timeout="2s")
