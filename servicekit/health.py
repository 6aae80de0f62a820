"""`/healthz`, `/readyz` and `/metrics`, the same on every service."""

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from servicekit.engine_metrics import record_checks

ReadinessCheck = Callable[[], Awaitable[None]]
Checks = Callable[[], Mapping[str, ReadinessCheck]]


def health_router(checks: Checks, degradable: Checks | None = None) -> APIRouter:
    """`checks` probe the engines a service cannot work without; `degradable` probe engines it
    has a fallback for (Redis caches): they are reported but never make the service unready,
    because pulling every pod out of the load balancer would turn a cache outage into an outage.
    """
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        required = await _run(checks())
        optional = await _run(degradable() if degradable else {})
        record_checks(getattr(request.app.state, "service_name", "pulse"), required | optional)
        ready = all(v == "ok" for v in required.values())
        status = "ready" if ready else "not_ready"
        if ready and any(v != "ok" for v in optional.values()):
            status = "degraded"
        return JSONResponse(
            {"status": status, "checks": {**required, **optional}},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _run(checks: Mapping[str, ReadinessCheck]) -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports any failure, it never raises
            results[name] = f"error: {type(exc).__name__}"
    return results
