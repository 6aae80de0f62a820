"""Query parameters every list endpoint shares."""

from typing import Annotated

from fastapi import Query

from core_service.domain.catalog_paging import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
]
DEFAULT = DEFAULT_LIMIT
