"""`POST /v1/events` served without FastAPI's per-request solving.

The snippet's batches are the service's most frequent request. FastAPI's documented route
(`events.post_events`) takes the body itself (no body, path, query or header parameter for
FastAPI to validate) and two dependencies, the ports and the settings. So every POST to the path
is a request it would accept as it is, and this route (entry_service/api/direct_route.py)
serves all of them while no test overrides one of those dependencies; with an override they go
on to the documented route. Both run `events.answer_events`.

The preflight (`OPTIONS /v1/events`) and `POST /v1/server/events` stay FastAPI's: browsers
cache the preflight for `Access-Control-Max-Age` and the snippet's `sendBeacon` (text/plain)
needs none, and the server route carries a site's own backend's traffic, not the snippet's.
"""

from fastapi import FastAPI, Request
from starlette.types import Receive, Scope, Send

from entry_service.api.direct_route import DirectRoute, documented_route, put_first
from entry_service.api.routes import events
from entry_service.settings import EntrySettings
from entry_service.wiring import EntryServicePorts


async def _post_events(scope: Scope, receive: Receive, send: Send) -> None:
    state = scope["app"].state
    ports: EntryServicePorts = state.ports
    settings: EntrySettings = state.settings
    response = await events.answer_events(
        Request(scope, receive), ports.ingest, settings.max_batch_bytes
    )
    await response(scope, receive, send)


def serve_events_directly(app: FastAPI) -> None:
    """Put the direct route first on `app` (after `events.router` is included)."""
    documented = documented_route(events.router, events.post_events, "POST")
    put_first(app, DirectRoute(documented, "POST", _post_events))
