"""An activity's reward (`/v1/activities/{id}/reward`, `/coupons`) and a site's payment
webhook secret (`/v1/sites/{id}/payment-webhook`). Admin only."""

import json
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common_messaging.currency import CURRENCY_PATTERN
from core_service.adapters.reward_repository import SqlRewards
from core_service.api.deps import DatabaseDep
from core_service.api.schemas import Line
from core_service.domain import reward_admin
from core_service.domain.reward_admin import RewardReport
from core_service.domain.rewards import MAX_CODES_PER_UPLOAD, parse_codes
from core_service.errors import SiteNotFound
from core_service.reward_errors import CouponUploadInvalid
from entries_ledger.reward_terms import DEFAULT_HOLD_TTL_S, RewardTerms
from servicekit.clock import utc_now

router = APIRouter(tags=["rewards"])
# 100,000 codes of up to 64 characters, with separators.
MAX_UPLOAD_BYTES = MAX_CODES_PER_UPLOAD * 66 + 1024


class RewardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["coupon", "product"]
    price_minor: int | None = Field(
        default=None, gt=0, le=10**12, description="the product's price in minor units (cents)"
    )
    currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)] | None = None
    stock: int | None = Field(
        default=None, gt=0, le=10_000_000, description="units for sale: the activity's capacity"
    )
    hold_ttl_s: int = Field(
        default=DEFAULT_HOLD_TTL_S,
        ge=1,
        le=7 * 24 * 3600,
        description="seconds a winner has to pay before the unit goes back (default 10 min)",
    )


class PoolOut(BaseModel):
    size: int = Field(description="codes in the pool")
    issued: int
    remaining: int
    winners: int = Field(description="confirmed winners of the activity")
    winners_without_code: int = Field(description="winners the pool ran out for")
    shortfall: int | None = Field(description="capacity minus pool size, when positive")


class RewardOut(BaseModel):
    activity_id: UUID
    kind: str
    capacity: int | None
    price_minor: int | None = None
    currency: str | None = None
    hold_ttl_s: int | None = None
    pool: PoolOut | None = None
    holds: dict[str, int] | None = None


class CodesAdded(BaseModel):
    added: int
    given_to_waiting_winners: int
    reward: RewardOut


class WebhookSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: Line = Field(min_length=16, max_length=255, description="the provider's whsec_...")


class WebhookSecretOut(BaseModel):
    site_id: UUID
    configured: bool


def _out(r: RewardReport) -> RewardOut:
    pool = None
    if r.pool is not None:
        pool = PoolOut(
            size=r.pool.size,
            issued=r.pool.issued,
            remaining=r.pool.size - r.pool.issued,
            winners=r.pool.winners,
            winners_without_code=max(0, r.pool.winners - r.pool.issued),
            shortfall=r.shortfall,
        )
    return RewardOut(
        activity_id=r.activity_id,
        kind=r.terms.kind,
        capacity=r.capacity,
        price_minor=r.terms.price_minor,
        currency=r.terms.currency,
        hold_ttl_s=r.terms.hold_ttl_s,
        pool=pool,
        holds=r.holds,
    )


@router.put("/activities/{activity_id}/reward")
async def put_reward(activity_id: UUID, body: RewardIn, db: DatabaseDep) -> RewardOut:
    terms = RewardTerms(body.kind, body.price_minor, body.currency, body.hold_ttl_s)
    result = await db.run(
        lambda s: reward_admin.set_reward(SqlRewards(s), activity_id, terms, body.stock, utc_now)
    )
    return _out(result)


@router.get("/activities/{activity_id}/reward")
async def get_reward(activity_id: UUID, db: DatabaseDep) -> RewardOut:
    return _out(await db.run(lambda s: reward_admin.report(SqlRewards(s), activity_id)))


@router.post("/activities/{activity_id}/coupons", status_code=201)
async def add_coupons(activity_id: UUID, request: Request, db: DatabaseDep) -> CodesAdded:
    """Codes as text/csv (one per line), or JSON `{"codes": [...]}`, or JSON
    `{"generate": {"count": N, "pattern": "SALE-XXXXXXXX"}}` (each X a random character)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_UPLOAD_BYTES:
            raise CouponUploadInvalid(
                f"the upload is larger than {MAX_UPLOAD_BYTES} bytes; split it"
            )
    content_type = request.headers.get("content-type", "")
    generate = _generate(bytes(raw)) if "json" in content_type else None
    codes = None if generate is not None else parse_codes(bytes(raw), content_type)
    added, given, result = await db.run(
        lambda s: reward_admin.add_codes(SqlRewards(s), activity_id, codes, generate, utc_now)
    )
    return CodesAdded(added=added, given_to_waiting_winners=given, reward=_out(result))


@router.put("/sites/{site_id}/payment-webhook")
async def put_payment_webhook(
    site_id: UUID, body: WebhookSecretIn, db: DatabaseDep
) -> WebhookSecretOut:
    saved = await db.run(
        lambda s: SqlRewards(s).set_webhook_secret(site_id, body.secret, utc_now())
    )
    if not saved:
        raise SiteNotFound(site_id)
    return WebhookSecretOut(site_id=site_id, configured=True)


def _generate(raw: bytes) -> tuple[int, str] | None:
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise CouponUploadInvalid("the upload is not valid JSON") from exc
    spec = data.get("generate") if isinstance(data, dict) else None
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("count"), int):
        raise CouponUploadInvalid('send {"generate": {"count": 1000, "pattern": "SALE-XXXXXXXX"}}')
    return int(spec["count"]), str(spec.get("pattern", "XXXX-XXXX-XXXX"))
