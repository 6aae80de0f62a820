"""All admin routes under `/v1`, behind the admin bearer token."""

from fastapi import APIRouter, Depends

from core_service.api.deps import require_admin
from core_service.api.routes import (
    activities,
    campaigns,
    event_definitions,
    money,
    rewards,
    sites,
    summaries,
    webhooks,
    winners,
)

api_router = APIRouter(prefix="/v1", dependencies=[Depends(require_admin)])
api_router.include_router(sites.router)
api_router.include_router(campaigns.router)
api_router.include_router(activities.router)
api_router.include_router(event_definitions.router)
api_router.include_router(summaries.router)
api_router.include_router(money.router)
api_router.include_router(rewards.router)
api_router.include_router(webhooks.router)
api_router.include_router(winners.router)
