"""FastAPI dependencies of entry_service: the adapters lifespan built, as typed aliases."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from common_messaging import EventPublisher
from entry_service.domain.entries import EntryPorts
from entry_service.domain.ingestion import Limits, ParseUserAgent
from entry_service.domain.sites import SiteDirectory, VisitorRegistry
from entry_service.settings import EntrySettings


@dataclass(frozen=True, slots=True)
class IngestPorts:
    sites: SiteDirectory
    visitors: VisitorRegistry
    publisher: EventPublisher
    parse_user_agent: ParseUserAgent
    limits: Limits


async def get_ports(request: Request) -> IngestPorts:
    ports: IngestPorts = request.app.state.ports
    return ports


async def get_entry_settings(request: Request) -> EntrySettings:
    settings: EntrySettings = request.app.state.settings
    return settings


PortsDep = Annotated[IngestPorts, Depends(get_ports)]
SettingsDep = Annotated[EntrySettings, Depends(get_entry_settings)]


async def get_entry_ports(request: Request) -> EntryPorts:
    ports: EntryPorts = request.app.state.entry_ports
    return ports


EntryPortsDep = Annotated[EntryPorts, Depends(get_entry_ports)]
