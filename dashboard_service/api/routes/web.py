"""The web UI: `GET /` serves the built page, `GET /assets/{name}` its scripts and styles.

The files come from `dashboard_service/web/dist`, which `npm run build` (run by
scripts/bootstrap) fills at install time; they sit next to this package's sources, so an
editable install finds them. Without them the API still works and `/` says what to run.
"""

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dashboard_service.errors import AssetNotFound, UiNotBuilt

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
# The page loads only its own script and stylesheet and talks only to this service.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag / Last-Modified): new builds show at once
}


def web_router(dist: Path = DIST) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def index() -> FileResponse:
        page = dist / "index.html"
        if not page.is_file():
            raise UiNotBuilt(
                "the dashboard UI is not built: run `npm ci && npm run build` "
                "(scripts/bootstrap does) and reload",
                details={"looked_in": str(dist)},
            )
        return FileResponse(page, headers=SECURITY_HEADERS)

    @router.get("/assets/{name}")
    def asset(name: str) -> FileResponse:
        path = dist / "assets" / name
        if not _ASSET_NAME.match(name) or not path.is_file():
            raise AssetNotFound(f"no asset named {name!r}")
        return FileResponse(path, headers=SECURITY_HEADERS)

    return router
