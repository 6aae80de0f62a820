"""What entry_service knows of a site: its key, origins and active event definitions."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from common_messaging import EventType


@dataclass(frozen=True, slots=True)
class Definition:
    id: UUID
    name: str
    trigger_type: EventType
    url_pattern: str | None
    selector: str | None
    campaign_id: UUID | None
    activity_id: UUID | None
    active: bool


@dataclass(frozen=True, slots=True)
class SiteConfig:
    id: UUID
    site_key: str
    allowed_origins: tuple[str, ...]
    active: bool
    definitions: tuple[Definition, ...]
    # Signs the site's user tokens and authenticates its server-to-server calls.
    signing_secret: str = field(default="", repr=False)
    # Lookups per event of every batch: indexes, built once per cached site.
    _by_id: dict[UUID, Definition] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Definition] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {d.id: d for d in self.definitions})
        # The first definition of a name wins, as the scan it replaces did.
        by_name: dict[str, Definition] = {}
        for d in self.definitions:
            by_name.setdefault(d.name, d)
        object.__setattr__(self, "_by_name", by_name)

    def allows_origin(self, origin: str | None) -> bool:
        """Server-side callers send no Origin; browsers must come from an allowed origin."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins

    def active_definitions(self) -> Sequence[Definition]:
        return [d for d in self.definitions if d.active]

    def definition_by_id(self, definition_id: UUID) -> Definition | None:
        return self._by_id.get(definition_id)

    def definition_by_name(self, name: str) -> Definition | None:
        return self._by_name.get(name)


class SiteDirectory(Protocol):
    async def by_key(self, site_key: str) -> SiteConfig | None: ...
