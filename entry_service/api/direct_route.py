"""A Starlette route that serves some of a documented FastAPI route's requests directly.

FastAPI's per-request work around a hot route (matching through the included routers, solving
its parameters and dependencies, its request handler) costs as much CPU as the route's own work
(docs/benchmarks.md, "Issue 13: the entry route's HTTP stack" and "... the events route's HTTP
stack"). A `DirectRoute` sits first on the app and takes only the requests the documented route
would accept unchanged, and only while no test overrides one of that route's dependencies;
everything else finds no match here and goes on to FastAPI's route, which answers as before
(422s, 405s, redirects, dependency overrides). Matched requests carry the documented route as
`scope["route"]`, so metrics' route label, the server span's name and the OpenAPI document
(FastAPI lists only its own routes) are the same whichever route served them.
"""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Scope


def documented_route(router: APIRouter, endpoint: Callable[..., Any], method: str) -> APIRoute:
    """The `router`'s route of `endpoint` for `method`."""
    return next(
        r
        for r in router.routes
        if isinstance(r, APIRoute) and r.endpoint is endpoint and method in (r.methods or ())
    )


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_calls(sub)


class DirectRoute(Route):
    """Matches the `documented` route's requests for `method` that `accepts` takes; the
    endpoint is a bare ASGI app, so errors reach the app's ExceptionMiddleware, whose handlers
    are the ones Starlette's per-request wrapper would call."""

    def __init__(self, documented: APIRoute, method: str, endpoint: ASGIApp) -> None:
        super().__init__(documented.path, endpoint, methods=[method], include_in_schema=False)
        self.app = endpoint  # as it is: Starlette would wrap a function as a request handler
        self.documented = documented
        self.method = method
        self.dependencies = frozenset(_dependency_calls(documented.dependant))

    def accepts(self, scope: Scope, child_scope: Scope) -> bool:
        """Whether the documented route would take this request as it is; may put the
        validated path parameters into `child_scope`."""
        return True

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != self.method:
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        overrides = scope["app"].dependency_overrides
        if overrides and not self.dependencies.isdisjoint(overrides):
            return Match.NONE, {}
        if not self.accepts(scope, child_scope):
            return Match.NONE, {}
        child_scope["route"] = self.documented
        return Match.FULL, child_scope


def put_first(app: FastAPI, route: DirectRoute) -> None:
    """Put `route` before every route of `app` (after the documented route is included)."""
    app.router.routes.insert(0, route)
