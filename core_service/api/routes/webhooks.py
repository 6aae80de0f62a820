"""Shop webhooks: a site's endpoints (secret shown once), their delivery log, redelivery."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from core_service.api.deps import DatabaseDep, PortsDep
from core_service.api.routes.paging import DEFAULT, Cursor, Limit
from core_service.errors import InvalidCursor
from servicekit.clock import utc_now
from servicekit.keyset import decode_cursor
from shop_webhooks import delivery_log, endpoints
from shop_webhooks.endpoints import TargetPolicy

router = APIRouter(tags=["webhooks"])

EventType = Literal["entry.decided", "reward.issued", "hold.expired", "payment.confirmed"]
Url = Annotated[str, Field(min_length=1, max_length=2048, description="https URL of the shop")]


def _targets(ports: PortsDep) -> TargetPolicy:
    return ports.webhook_targets


TargetsDep = Annotated[TargetPolicy, Depends(_targets)]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    event_types: list[EventType] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=500)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    site_id: UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(description="`whsec_...`: shown only now; keep it to verify signatures")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    manual: bool = Field(description="a redelivery staff asked for")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    endpoint_id: UUID
    webhook_id: str = Field(description="the `webhook-id` header of every attempt")
    event_type: str
    event_id: str
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut]


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def _with_secret(created: endpoints.EndpointWithSecret) -> EndpointWithSecretOut:
    out = EndpointOut.model_validate(created.endpoint)
    return EndpointWithSecretOut(**out.model_dump(), secret=created.secret)


@router.post("/sites/{site_id}/webhook-endpoints", status_code=status.HTTP_201_CREATED)
async def create_endpoint(
    site_id: UUID, body: EndpointCreate, db: DatabaseDep, targets: TargetsDep
) -> EndpointWithSecretOut:
    """Register an endpoint; its URL must be https on a public address."""
    created = await db.run(
        lambda s: endpoints.create(
            s,
            targets,
            utc_now(),
            site_id=site_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
        )
    )
    return _with_secret(created)


@router.get("/sites/{site_id}/webhook-endpoints")
async def list_endpoints(
    site_id: UUID, db: DatabaseDep, limit: Limit = DEFAULT, cursor: Cursor = None
) -> EndpointPage:
    after = decode_cursor(cursor, InvalidCursor)
    page = await db.run(lambda s: endpoints.list_for_site(s, site_id, after, limit))
    return EndpointPage(
        items=[EndpointOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.get("/webhook-endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: UUID, db: DatabaseDep) -> EndpointOut:
    return EndpointOut.model_validate(await db.run(lambda s: endpoints.get(s, endpoint_id)))


@router.patch("/webhook-endpoints/{endpoint_id}")
async def update_endpoint(
    endpoint_id: UUID, body: EndpointPatch, db: DatabaseDep, targets: TargetsDep
) -> EndpointOut:
    updated = await db.run(
        lambda s: endpoints.update(
            s,
            targets,
            utc_now(),
            endpoint_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            active=body.active,
        )
    )
    return EndpointOut.model_validate(updated)


@router.delete("/webhook-endpoints/{endpoint_id}")
async def deactivate_endpoint(
    endpoint_id: UUID, db: DatabaseDep, targets: TargetsDep
) -> EndpointOut:
    """Stops new deliveries; the delivery log stays readable."""
    updated = await db.run(
        lambda s: endpoints.update(s, targets, utc_now(), endpoint_id, active=False)
    )
    return EndpointOut.model_validate(updated)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(endpoint_id: UUID, db: DatabaseDep) -> EndpointWithSecretOut:
    """A new secret signs every attempt from now on; it is shown only in this answer."""
    rotated = await db.run(lambda s: endpoints.rotate_secret(s, utc_now(), endpoint_id))
    return _with_secret(rotated)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries")
async def list_deliveries(
    endpoint_id: UUID,
    db: DatabaseDep,
    status_: Annotated[
        Literal["pending", "succeeded", "failed"] | None, Query(alias="status")
    ] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The delivery log: each delivery with every attempt (time, status code or error,
    duration)."""
    after = decode_cursor(cursor, InvalidCursor)
    page = await db.run(
        lambda s: delivery_log.list_for_endpoint(s, endpoint_id, status_, after, limit)
    )
    return DeliveryPage(
        items=[DeliveryOut.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/webhook-deliveries/{delivery_id}")
async def get_delivery(delivery_id: UUID, db: DatabaseDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await db.run(lambda s: delivery_log.get(s, delivery_id)))


@router.post("/webhook-deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED)
async def redeliver(delivery_id: UUID, db: DatabaseDep) -> DeliveryOut:
    """One more attempt as soon as the dispatcher runs, with the same `webhook-id`; if it
    fails, the retry schedule starts again from it."""
    return DeliveryOut.model_validate(
        await db.run(lambda s: delivery_log.redeliver(s, delivery_id, utc_now()))
    )
