"""The index fed through the bus: what the store path hands the index group.

`IndexFeed` is an `AnalyticsIndex` that writes nothing itself: each event becomes its
Elasticsearch `_bulk` lines (action and document, serialised once, here) in a message on
`pulse.events.enriched.v1`, produced with one flush per batch. core_service's index group
(`ElasticsearchAnalyticsIndex.apply_bulk_lines`) sends those bytes to `_bulk` as they are. The
document id is the event id, so a message delivered twice indexes once.
"""

from collections.abc import Sequence

from pydantic_core import to_json

from analytics_index.document import INDEX_PREFIX, document_json, index_name
from common_messaging import EVENTS_ENRICHED, EventOccurred, EventPublisher, OutgoingMessage


def create_lines(event: EventOccurred, prefix: str = INDEX_PREFIX) -> bytes:
    action = to_json({"create": {"_index": index_name(event, prefix), "_id": event.event_id}})
    return b"%s\n%s\n" % (action, document_json(event))


def delete_lines(event: EventOccurred, prefix: str = INDEX_PREFIX) -> bytes:
    action = to_json({"delete": {"_index": index_name(event, prefix), "_id": event.event_id}})
    return action + b"\n"


class IndexFeed:
    def __init__(self, publisher: EventPublisher, prefix: str = INDEX_PREFIX) -> None:
        self._publisher = publisher
        self._prefix = prefix

    def index(self, events: Sequence[EventOccurred]) -> None:
        self._send([create_lines(e, self._prefix) for e in events], events)

    def remove(self, events: Sequence[EventOccurred]) -> None:
        self._send([delete_lines(e, self._prefix) for e in events], events)

    def _send(self, values: list[bytes], events: Sequence[EventOccurred]) -> None:
        if not values:
            return
        # Keyed by event id: a create and a later delete of one document stay in order.
        messages = [
            OutgoingMessage(value=value, key=str(event.event_id).encode())
            for value, event in zip(values, events, strict=True)
        ]
        self._publisher.publish_sync(EVENTS_ENRICHED, messages)

    def ping(self) -> None:
        """The feed is the bus; the bus's health is the consumer loop's own concern."""
