"""Topic names. Each constant says who produces and who consumes it; DLQs sit beside their topic."""

from typing import Final

# entry_service -> core_service: validated and enriched event occurrences, keyed by site:visitor.
EVENTS_RAW: Final = "pulse.events.raw.v1"
# core_service -> operators: occurrences that could not be parsed or stored, with the error.
EVENTS_DLQ: Final = "pulse.events.raw.v1.dlq"

ALL_TOPICS: Final = (EVENTS_RAW, EVENTS_DLQ)
