"""Topic names. Each constant says who produces and who consumes it; DLQs sit beside their topic."""

from typing import Final

# entry_service -> core_service: validated event occurrences, keyed by site:visitor; core_service
# enriches them (device, new vs returning) in its store path.
EVENTS_RAW: Final = "pulse.events.raw.v1"
# core_service -> operators: occurrences that could not be parsed or stored, with the error.
EVENTS_DLQ: Final = "pulse.events.raw.v1.dlq"

# entry_service -> core_service: reservations the entry gate admitted, keyed by activity id so
# each activity's reservations are confirmed in order by one consumer.
ENTRIES_REQUESTED: Final = "pulse.entries.requested.v1"
# core_service -> operators: reservations that could not be parsed or decided.
ENTRIES_DLQ: Final = "pulse.entries.requested.v1.dlq"
# core_service -> entry_service (waiting shoppers), notifications, the live dashboard.
ENTRIES_DECIDED: Final = "pulse.entries.decided.v1"

# core_service's store group -> its index group: each stored event (and each entry win) as
# pre-serialised Elasticsearch `_bulk` lines, produced after the Postgres commit. Indexing reads
# it as a consumer group of its own, so an Elasticsearch outage only delays the index.
EVENTS_ENRICHED: Final = "pulse.events.enriched.v1"
# core_service -> operators: bulk lines the index refused for their data (a mapping conflict).
EVENTS_ENRICHED_DLQ: Final = "pulse.events.enriched.v1.dlq"

ALL_TOPICS: Final = (
    EVENTS_RAW,
    EVENTS_DLQ,
    ENTRIES_REQUESTED,
    ENTRIES_DLQ,
    ENTRIES_DECIDED,
    EVENTS_ENRICHED,
    EVENTS_ENRICHED_DLQ,
)
