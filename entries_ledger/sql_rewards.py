"""Issuing a winner's reward inside the ledger's unit of work that confirms the entry.

A coupon: the first free code of the pool is claimed with one conditional UPDATE (on Postgres
`FOR UPDATE SKIP LOCKED`, so concurrent winners never wait on the same code; SQLite has one
writer at a time). `coupon_codes.entry_id` is unique: no winner holds two codes, and the
`entry_id IS NULL` condition means no code goes to two winners. An empty pool leaves the
winner without a code (their reward reads `unavailable`) and staff see the shortfall.

A product: a hold at the server's price that expires unless paid (`holds.expire_due`).
"""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from common_messaging import EntryDecided, EntryRequested
from datastore.schema import CouponCode, RewardHold
from entries_ledger.reward_terms import COUPON, PRODUCT, RewardTerms
from entries_ledger.shop_events import REWARD_ISSUED, record_shop_event

log = logging.getLogger(__name__)


def issue_reward(
    session: Session, request: EntryRequested, decision: EntryDecided, reward: RewardTerms
) -> None:
    at = decision.decided_at
    if reward.kind == COUPON:
        code = claim_code(session, request.activity_id, request.entry_id, at)
        if code is None:
            log.warning(
                "coupon_pool_empty activity_id=%s entry_id=%s",
                request.activity_id,
                request.entry_id,
            )
            return
        payload: dict[str, object] = {"kind": COUPON, "code": code}
    elif reward.kind == PRODUCT and reward.price_minor and reward.currency:
        expires_at = at + timedelta(seconds=reward.hold_seconds)
        session.execute(
            insert(RewardHold).values(
                entry_id=request.entry_id,
                site_id=request.site_id,
                activity_id=request.activity_id,
                user_id=request.user_id,
                price_minor=reward.price_minor,
                currency=reward.currency,
                status="held",
                expires_at=expires_at,
                created_at=at,
            )
        )
        payload = {
            "kind": PRODUCT,
            "price_minor": reward.price_minor,
            "currency": reward.currency,
            "expires_at": expires_at.isoformat(),
        }
    else:
        return
    announce_reward(
        session,
        request.site_id,
        request.activity_id,
        request.entry_id,
        request.user_id,
        payload,
        at,
    )


def announce_reward(
    session: Session,
    site_id: UUID,
    activity_id: UUID,
    entry_id: UUID,
    user_id: str,
    payload: dict[str, object],
    at: datetime,
) -> None:
    payload.update(entry_id=str(entry_id), activity_id=str(activity_id), user_id=user_id)
    record_shop_event(
        session,
        site_id=site_id,
        event_type=REWARD_ISSUED,
        event_id=str(entry_id),
        payload=payload,
        occurred_at=at,
    )


def claim_code(session: Session, activity_id: UUID, entry_id: UUID, at: datetime) -> str | None:
    """Give the pool's first free code to this entry; None when the pool is empty."""
    free = (
        select(CouponCode.id)
        .where(CouponCode.activity_id == activity_id, CouponCode.entry_id.is_(None))
        .order_by(CouponCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(CouponCode)
        .where(CouponCode.id == free, CouponCode.entry_id.is_(None))
        .values(entry_id=entry_id, issued_at=at)
        .returning(CouponCode.code)
    )
    return session.execute(stmt).scalar_one_or_none()
