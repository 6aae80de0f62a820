"""Topic names. Each constant says who produces and who consumes it; DLQs sit beside their topic."""

from typing import Final

# entry_service -> core_service: validated and enriched event occurrences, keyed by site:visitor.
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

ALL_TOPICS: Final = (EVENTS_RAW, EVENTS_DLQ, ENTRIES_REQUESTED, ENTRIES_DLQ, ENTRIES_DECIDED)
