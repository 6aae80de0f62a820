"""Document the event batch body in OpenAPI.

The route reads the raw body itself (size caps, text/plain, per-event rejections), so FastAPI
cannot derive the schema; it is added to the components here instead.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from entry_service.domain.incoming import IncomingEvent

BATCH_SCHEMA_REF = "#/components/schemas/EventBatch"


class EventBatch(BaseModel):
    """A batch of event occurrences for one site; a single event is a batch of one."""

    model_config = ConfigDict(extra="forbid")

    site_key: str = Field(min_length=1, max_length=64)
    sent_at: AwareDatetime | None = Field(
        default=None, description="when the client sent the batch; used to correct clock skew"
    )
    events: list[IncomingEvent] = Field(min_length=1, max_length=500)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            batch = EventBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(batch.pop("$defs", {}))
            components["EventBatch"] = batch
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
