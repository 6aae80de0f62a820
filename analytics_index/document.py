"""The analytics index contract: Elasticsearch template, alias and document shape.

core_service writes these documents and dashboard_service aggregates them; both take the names
and the mapping from here. Indices are monthly (`pulse-events-YYYY.MM`, by occurrence time) behind
the read alias `pulse-events`; the document id is the event id, so a replay overwrites itself.
"""

from typing import Any, Final

from pydantic_core import to_json

from common_messaging.events import EventOccurred, EventType

# The prefix of the monthly indices is also the name of their read alias and of the template.
INDEX_PREFIX: Final = "pulse-events"

_KEYWORD = {"type": "keyword"}

MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "event_id": _KEYWORD,
        "site_id": _KEYWORD,
        "campaign_id": _KEYWORD,
        "activity_id": _KEYWORD,
        "definition_id": _KEYWORD,
        "name": _KEYWORD,
        "type": _KEYWORD,
        "occurred_at": {"type": "date"},
        "received_at": {"type": "date"},
        "visitor_key": _KEYWORD,
        "session_id": _KEYWORD,
        "device_type": _KEYWORD,
        "browser": _KEYWORD,
        "os": _KEYWORD,
        "is_new_user": {"type": "boolean"},
        # double, not scaled_float: the integ-test distribution ships no mapper-extras module.
        "revenue": {"type": "double"},
        "currency": _KEYWORD,
        "url": {"type": "keyword", "ignore_above": 2048},
        "properties": {"type": "flattened"},
    },
}


def index_template(prefix: str = INDEX_PREFIX) -> dict[str, Any]:
    return {
        "index_patterns": [f"{prefix}-*"],
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"},
            "mappings": MAPPING,
            "aliases": {prefix: {}},
        },
        "priority": 100,
    }


def index_name(event: EventOccurred, prefix: str = INDEX_PREFIX) -> str:
    # Formatted by hand: strftime costs the store path several times as much, once per event.
    at = event.occurred_at
    return f"{prefix}-{at.year:04d}.{at.month:02d}"


_IDS: Final = ("event_id", "site_id", "campaign_id", "activity_id", "definition_id")


def document(event: EventOccurred) -> dict[str, Any]:
    doc = _document(event)
    for name in _IDS:
        if doc[name] is not None:
            doc[name] = str(doc[name])
    return doc


def document_json(event: EventOccurred) -> bytes:
    """The document as JSON bytes, by pydantic-core: a bulk request sends these as they are,
    which costs less than the Elasticsearch client's stdlib json encoder. The ids go as UUIDs,
    written by pydantic-core: Python's `str(UUID)` was a third of the document's cost."""
    return to_json(_document(event))


def _document(event: EventOccurred) -> dict[str, Any]:
    """The document, its ids as UUIDs."""
    purchase = event.purchase if event.type is EventType.PURCHASE else None
    return {
        "event_id": event.event_id,
        "site_id": event.site_id,
        "campaign_id": event.campaign_id,
        "activity_id": event.activity_id,
        "definition_id": event.definition_id,
        "name": event.name,
        "type": event.type.value,
        "occurred_at": event.occurred_at.isoformat(),
        "received_at": event.received_at.isoformat(),
        "visitor_key": event.visitor_key,
        "session_id": event.session_id,
        "device_type": event.device.device_type.value,
        "browser": event.device.browser,
        "os": event.device.os,
        "is_new_user": event.is_new_user,
        "revenue": float(purchase.amount) if purchase else 0.0,
        "currency": purchase.currency if purchase else None,
        "url": event.url,
        "properties": event.properties,
    }
