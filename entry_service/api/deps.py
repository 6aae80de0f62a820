"""FastAPI dependencies of entry_service: the ports lifespan opened, as typed aliases.

Tests swap a port with FastAPI's dependency overrides of `get_ports` or `get_entry_ports`.
"""

from typing import Annotated

from fastapi import Depends, Request

from entry_service.domain.entries import EntryPorts
from entry_service.domain.ingestion import IngestPorts
from entry_service.settings import EntrySettings
from entry_service.wiring import EntryServicePorts


def _service_ports(request: Request) -> EntryServicePorts:
    ports: EntryServicePorts = request.app.state.ports
    return ports


async def get_ports(request: Request) -> IngestPorts:
    return _service_ports(request).ingest


async def get_entry_settings(request: Request) -> EntrySettings:
    settings: EntrySettings = request.app.state.settings
    return settings


async def get_entry_ports(request: Request) -> EntryPorts:
    return _service_ports(request).entries


PortsDep = Annotated[IngestPorts, Depends(get_ports)]
SettingsDep = Annotated[EntrySettings, Depends(get_entry_settings)]
EntryPortsDep = Annotated[EntryPorts, Depends(get_entry_ports)]
