"""`POST /v1/activities/{activity_id}/entries` served without FastAPI's per-request solving.

The hottest request of the service (a flash sale's spike) paid FastAPI's routing through the
included routers, the solving of its path, header and two dependency parameters, and its
request handler: about a fifth of the request's CPU (docs/benchmarks.md, "Issue 13: the entry
route's HTTP stack"). This Starlette route sits first on the app and takes only the requests
FastAPI would accept as they are: a POST whose `activity_id` validates as a UUID (with the
same pydantic validation FastAPI applies), whose `Idempotency-Key`, if sent, is within its
documented length, and while no test overrides the route's dependencies. Every other request
finds no match here and goes on to the documented route (`entries.post_entry`), which answers
it as before (422s, 405s, dependency overrides). Both run `entries.answer_entry`, and the
request carries the documented route as `scope["route"]`, so metrics, spans and the OpenAPI
document (which only lists FastAPI's route) are the same whichever route served it.
"""

from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from entry_service.api.deps import get_entry_ports, get_ports
from entry_service.api.routes import entries
from entry_service.wiring import EntryServicePorts

_UUID = TypeAdapter(UUID)
_KEY_HEADER = b"idempotency-key"
_DEPENDENCIES = (get_entry_ports, get_ports)


class DirectEntryRoute(Route):
    """Matches what `entries.post_entry` would accept unchanged; nothing else."""

    def __init__(self, documented: APIRoute) -> None:
        super().__init__(documented.path, _PostEntry(), methods=["POST"], include_in_schema=False)
        self.documented = documented

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "POST":
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        try:
            activity_id = _UUID.validate_python(child_scope["path_params"]["activity_id"])
        except ValidationError:
            return Match.NONE, {}
        for name, value in scope["headers"]:
            if name == _KEY_HEADER:  # the first one, as FastAPI's Header reads it
                if len(value) > entries.MAX_IDEMPOTENCY_KEY:  # latin-1: a byte a character
                    return Match.NONE, {}
                break
        overrides = scope["app"].dependency_overrides
        if overrides and any(d in overrides for d in _DEPENDENCIES):
            return Match.NONE, {}
        child_scope["path_params"]["activity_id"] = activity_id
        child_scope["route"] = self.documented
        return Match.FULL, child_scope


class _PostEntry:
    """The route's endpoint as a bare ASGI app: errors go to the app's ExceptionMiddleware,
    whose handlers are the ones Starlette's per-request wrapper would call."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        ports: EntryServicePorts = scope["app"].state.ports
        response = await entries.answer_entry(
            scope["path_params"]["activity_id"],
            request,
            ports.entries,
            ports.ingest.parse_user_agent,
            request.headers.get("idempotency-key"),
        )
        await response(scope, receive, send)


def serve_entries_directly(app: FastAPI) -> None:
    """Put the direct route first on `app` (after `entries.router` is included)."""
    documented = next(
        r
        for r in entries.router.routes
        if isinstance(r, APIRoute) and r.endpoint is entries.post_entry
    )
    app.router.routes.insert(0, DirectEntryRoute(documented))
