"""`POST /v1/payments/webhook`: the payment provider's signed notifications (no admin token:
the signature, with the site's webhook secret, is the authentication)."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from core_service.adapters.payment_repository import SqlPaymentBook
from core_service.api.deps import PortsDep
from core_service.domain.payments import Settlement, raise_refusal, settle
from core_service.reward_errors import PaymentEventInvalid
from entries_ledger.gate_seats import RedisSeatReturn
from servicekit.clock import utc_now

MAX_WEBHOOK_BYTES = 256 * 1024


class PaymentOut(BaseModel):
    outcome: str
    entry_id: str
    payment_id: str
    duplicate: bool


def payments_router(tolerance_s: int) -> APIRouter:
    router = APIRouter(prefix="/v1/payments", tags=["payments"])

    @router.post("/webhook")
    async def payment_webhook(
        request: Request,
        ports: PortsDep,
        stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
    ) -> PaymentOut:
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PaymentEventInvalid(f"a notification is at most {MAX_WEBHOOK_BYTES} bytes")

        def work(session: object) -> Settlement:
            book = SqlPaymentBook(session)  # type: ignore[arg-type]
            return settle(body, stripe_signature, book, utc_now(), tolerance_s)

        try:
            result = await ports.database.run(work)
        except IntegrityError:
            # The same notification was settled concurrently: the retry reads its record.
            result = await ports.database.run(work)
        if result.released_activity is not None and ports.redis is not None:
            RedisSeatReturn(ports.redis)({result.released_activity: 1})
        raise_refusal(result)
        return PaymentOut(
            outcome=result.outcome,
            entry_id=str(result.entry_id),
            payment_id=result.payment_id,
            duplicate=result.duplicate,
        )

    return router
