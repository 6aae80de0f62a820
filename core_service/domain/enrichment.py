"""Enrichment of a collected batch, in the store path: device from the user agent, new vs returning.

The edge publishes events as collected (`EventOccurred.enriched` false, with the user agent
string); the store path enriches them here, a batch at a time, before anything stored or indexed
reads `device` or `is_new_user`:

- the device (type, browser, OS, bots) is parsed once per distinct user agent string;
- an event is from a new user when it was received within `new_user_window` of the visitor's
  first sighting on the site. The first sighting is recorded once, idempotently, by the
  repository's `first_sightings` (one statement per batch), so a replayed batch gets the same
  answers as the first delivery did.

Events that arrive enriched (from an older edge, or entry wins) pass through unchanged.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from common_messaging import DeviceInfo, EventOccurred

ParseUserAgent = Callable[[str | None], DeviceInfo]
VisitorSightings = Mapping[tuple[UUID, str], datetime]


def collected(events: Sequence[EventOccurred]) -> list[EventOccurred]:
    """The events that still need enriching."""
    return [event for event in events if not event.enriched]


@dataclass(frozen=True, slots=True)
class Enricher:
    parse_user_agent: ParseUserAgent
    new_user_window: timedelta = timedelta(minutes=30)

    def enrich(
        self, events: Sequence[EventOccurred], first_seen: VisitorSightings
    ) -> list[EventOccurred]:
        """The batch, in order, each event enriched; `first_seen` by (site id, visitor key)."""
        devices: dict[str | None, DeviceInfo] = {}
        out = []
        for event in events:
            if event.enriched:
                out.append(event)
                continue
            device = devices.get(event.user_agent)
            if device is None:
                device = devices[event.user_agent] = self.parse_user_agent(event.user_agent)
            seen = first_seen.get((event.site_id, event.visitor_key), event.received_at)
            out.append(
                event.model_copy(
                    update={
                        "device": device,
                        "is_new_user": event.received_at - seen < self.new_user_window,
                        "enriched": True,
                    }
                )
            )
        return out
