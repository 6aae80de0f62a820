"""`POST /v1/activities/{activity_id}/entries` served without FastAPI's per-request solving.

The hottest request of the service (a flash sale's spike) paid FastAPI's routing through the
included routers, the solving of its path, header and two dependency parameters, and its
request handler: about a fifth of the request's CPU (docs/benchmarks.md, "Issue 13: the entry
route's HTTP stack"). This route (entry_service/api/direct_route.py) takes only the requests
FastAPI would accept as they are: a POST whose `activity_id` validates as a UUID (with the
same pydantic validation FastAPI applies), whose `Idempotency-Key`, if sent, is within its
documented length, and while no test overrides the route's dependencies. Every other request
goes on to the documented route (`entries.post_entry`). Both run `entries.answer_entry`.
"""

from uuid import UUID

from fastapi import FastAPI, Request
from pydantic import TypeAdapter, ValidationError
from starlette.types import Receive, Scope, Send

from entry_service.api.direct_route import DirectRoute, documented_route, put_first
from entry_service.api.routes import entries
from entry_service.wiring import EntryServicePorts

_UUID = TypeAdapter(UUID)
_KEY_HEADER = b"idempotency-key"


class DirectEntryRoute(DirectRoute):
    """Matches what `entries.post_entry` would accept unchanged; nothing else."""

    def accepts(self, scope: Scope, child_scope: Scope) -> bool:
        try:
            activity_id = _UUID.validate_python(child_scope["path_params"]["activity_id"])
        except ValidationError:
            return False
        for name, value in scope["headers"]:
            if name == _KEY_HEADER:  # the first one, as FastAPI's Header reads it
                if len(value) > entries.MAX_IDEMPOTENCY_KEY:  # latin-1: a byte a character
                    return False
                break
        child_scope["path_params"]["activity_id"] = activity_id
        return True


async def _post_entry(scope: Scope, receive: Receive, send: Send) -> None:
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
    documented = documented_route(entries.router, entries.post_entry, "POST")
    put_first(app, DirectEntryRoute(documented, "POST", _post_entry))
