"""`GET /v1/sites/{site_key}/definitions`: the active definitions the snippet tracks."""

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from entry_service.api.cors import allow_origin, grant_on_error, preflight
from entry_service.api.deps import PortsDep, SettingsDep
from entry_service.api.schemas import DefinitionsResponse
from entry_service.domain.definitions import active_definitions
from servicekit.errors import PulseError

router = APIRouter(tags=["public"])


@router.get("/v1/sites/{site_key}/definitions", response_model=DefinitionsResponse)
async def get_definitions(
    site_key: str,
    request: Request,
    ports: PortsDep,
    settings: SettingsDep,
    if_none_match: str | None = Header(default=None),
) -> Response:
    origin = request.headers.get("origin")
    try:
        view = await active_definitions(site_key, ports.sites, origin)
    except PulseError as exc:  # readable by the page's script, which then stops retrying
        grant_on_error(exc, origin)
        raise
    headers = {
        "ETag": view.etag,
        "Cache-Control": f"public, max-age={settings.definitions_max_age_s}",
    }
    response: Response = (
        Response(status_code=304, headers=headers)
        if if_none_match == view.etag
        else JSONResponse(view.body, headers=headers)
    )
    allow_origin(response, origin if view.origin_allowed else None)
    return response


@router.options("/v1/sites/{site_key}/definitions", include_in_schema=False)
async def definitions_preflight(request: Request) -> Response:
    return preflight(request.headers.get("origin"))
