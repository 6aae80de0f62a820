"""The HTTP floor for entries: a bare FastAPI app with `POST /v1/activities/{id}/entries`.

It reads the body, parses it as JSON and answers 202 with an entry's shape (a new entry id,
`reserved`, a position); no validation, no rate limit, no Redis, no Kafka. Served by uvicorn
with the same settings as entry_service, it measures what the framework and the server cost on
their own: the target's denominator (entry_service >= 0.33 x this, per worker).
"""

import json
import uuid
from itertools import count

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


def create_app() -> FastAPI:
    app = FastAPI(title="bare entries baseline")
    positions = count(1)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/activities/{activity_id}/entries", status_code=202)
    async def post_entry(activity_id: uuid.UUID, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            return JSONResponse({"error": "not an object"}, status_code=400)
        answer = {
            "entry_id": str(uuid.uuid4()),
            "status": "reserved",
            "position": next(positions),
            "activity_id": str(activity_id),
        }
        return JSONResponse(answer, status_code=202)

    return app
