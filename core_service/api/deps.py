"""FastAPI dependencies of core_service: what lifespan built, as typed aliases."""

from typing import Annotated

from fastapi import Depends, Request

from servicekit.auth import require_bearer
from servicekit.database import Database


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DatabaseDep = Annotated[Database, Depends(get_database)]

require_admin = require_bearer(lambda request: [request.app.state.admin_token])
