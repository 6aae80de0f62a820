"""FastAPI dependencies of core_service: the ports lifespan opened, as typed aliases.

Tests that assemble an app by hand override `get_ports` (FastAPI's dependency overrides).
"""

from typing import Annotated

from fastapi import Depends, Request

from core_service.wiring import CorePorts
from servicekit.auth import require_bearer
from servicekit.database import Database
from user_summaries.ports import SummaryCache, SummaryReader


def get_ports(request: Request) -> CorePorts:
    ports: CorePorts = request.app.state.ports
    return ports


PortsDep = Annotated[CorePorts, Depends(get_ports)]


def get_database(ports: PortsDep) -> Database:
    return ports.database


def get_summary_reader(ports: PortsDep) -> SummaryReader:
    return ports.summary_reader


def get_summary_cache(ports: PortsDep) -> SummaryCache:
    return ports.summary_cache


def get_admin_tokens(ports: PortsDep) -> list[str]:
    return [ports.admin_token]


DatabaseDep = Annotated[Database, Depends(get_database)]
SummaryReaderDep = Annotated[SummaryReader, Depends(get_summary_reader)]
SummaryCacheDep = Annotated[SummaryCache, Depends(get_summary_cache)]

require_admin = require_bearer(get_admin_tokens)
