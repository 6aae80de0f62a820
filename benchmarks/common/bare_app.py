"""The HTTP baseline: a bare FastAPI app with entry_service's `POST /v1/events` shape.

It reads the body, counts the events and answers 202 `{"accepted": n, "rejected": []}`; no
validation, no site lookup, no enrichment, no Kafka. Served by uvicorn with the same settings
as the real entry service, it measures what the framework and the server cost on their own.
"""

import json

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


def create_app() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/events", status_code=202)
    async def post_events(request: Request) -> Response:
        body = json.loads(await request.body())
        events = body.get("events") if isinstance(body, dict) else None
        n = len(events) if isinstance(events, list) else 0
        return JSONResponse({"accepted": n, "rejected": []}, status_code=202)

    return app
