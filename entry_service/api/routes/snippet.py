"""The tracking snippet, served from the esbuild output (`npm run build`, docs/snippet.md).

- `GET /snippet.js`: the latest build. Cached 5 minutes only, so a new release reaches every
  page soon after it is deployed.
- `GET /snippet/<version>.js`: one release, cached for a year (`immutable`): it never changes.
- The collect path's alias (`PULSE_COLLECT_PATH`), which answers exactly as `POST /v1/events`.

Both script paths follow `PULSE_SNIPPET_PATH`: ad-blocker lists match tracker-like names.
"""

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from entry_service.api.routes import events
from entry_service.errors import SnippetNotBuilt, SnippetVersionNotFound
from entry_service.settings import EntrySettings

REPO_DIST = Path(__file__).resolve().parents[3] / "snippet" / "dist"
DEFAULT_COLLECT_PATH = "/v1/events"
LATEST_CACHE = "public, max-age=300"
PINNED_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Bundle:
    version: str
    code: bytes
    gzipped: bytes
    etag: str


class SnippetFiles:
    """The built snippet, re-read only when a new build replaces its manifest."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cached: tuple[tuple[int, int], Bundle] | None = None

    def current(self) -> Bundle:
        manifest = self.directory / "manifest.json"
        try:
            stat = manifest.stat()
        except FileNotFoundError:
            raise self._not_built() from None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            meta: dict[str, Any] = json.loads(manifest.read_text())
            code = (self.directory / str(meta["file"])).read_bytes()
            version = str(meta["version"])
        except (OSError, ValueError, KeyError) as exc:
            raise self._not_built() from exc
        digest = hashlib.sha256(code).hexdigest()[:32]
        bundle = Bundle(version, code, gzip.compress(code, mtime=0), f'"{digest}"')
        self._cached = (key, bundle)
        return bundle

    def _not_built(self) -> SnippetNotBuilt:
        return SnippetNotBuilt(
            "the tracking snippet has not been built: run `npm run build` (scripts/bootstrap "
            "does) or point PULSE_SNIPPET_DIR at a built snippet/dist",
            details={"snippet_dir": str(self.directory)},
        )


def _script(bundle: Bundle, request: Request, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": bundle.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Public code: any page may load it with `crossorigin` (needed for `integrity`).
        "Access-Control-Allow-Origin": "*",
    }
    if request.headers.get("if-none-match") == bundle.etag:
        return Response(status_code=304, headers=headers)
    body = bundle.code
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = bundle.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


def snippet_router(settings: EntrySettings) -> APIRouter:
    files = SnippetFiles(settings.snippet_dir or REPO_DIST)
    router = APIRouter(tags=["snippet"])
    pinned_path = settings.snippet_path.removesuffix(".js") + "/{version}.js"

    @router.get(settings.snippet_path, summary="The tracking snippet, latest build")
    def latest_snippet(request: Request) -> Response:
        return _script(files.current(), request, LATEST_CACHE)

    @router.get(pinned_path, summary="The tracking snippet, one version (immutable)")
    def pinned_snippet(version: str, request: Request) -> Response:
        bundle = files.current()
        if version != bundle.version:
            raise SnippetVersionNotFound(
                f"snippet version {version!r} is not served here; this build is {bundle.version!r}",
                details={"available": [bundle.version]},
            )
        return _script(bundle, request, PINNED_CACHE)

    if settings.collect_path != DEFAULT_COLLECT_PATH:
        router.add_api_route(
            settings.collect_path,
            events.post_events,
            methods=["POST"],
            status_code=202,
            include_in_schema=False,
        )
        router.add_api_route(
            settings.collect_path,
            events.events_preflight,
            methods=["OPTIONS"],
            include_in_schema=False,
        )
    return router
