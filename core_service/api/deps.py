"""FastAPI dependencies of core_service: what lifespan built, as typed aliases."""

from typing import Annotated

from fastapi import Depends, Request

from core_service.adapters.summary_repository import SqlSummaryReader
from core_service.domain.summaries import NoSummaryCache, SummaryCache, SummaryReader
from servicekit.auth import require_bearer
from servicekit.database import Database


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_summary_reader(request: Request) -> SummaryReader:
    """What lifespan set, or the SQL reader over app.state.db (apps assembled by hand)."""
    reader: SummaryReader | None = getattr(request.app.state, "summary_reader", None)
    return reader if reader is not None else SqlSummaryReader(get_database(request))


def get_summary_cache(request: Request) -> SummaryCache:
    cache: SummaryCache | None = getattr(request.app.state, "summary_cache", None)
    return cache if cache is not None else NoSummaryCache()


SummaryReaderDep = Annotated[SummaryReader, Depends(get_summary_reader)]
SummaryCacheDep = Annotated[SummaryCache, Depends(get_summary_cache)]

require_admin = require_bearer(lambda request: [request.app.state.admin_token])
