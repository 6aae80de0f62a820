"""PaymentBook over the database: holds, payment records, the trusted purchase of a paid hold.

A paid hold is stored as a trusted purchase through the same service the events consumer uses
(`EventOccurrenceService`), in the same unit of work as the hold's change, so the user summary
and the money metrics see it exactly when the hold is paid. Its event id is derived from the
payment id: a replay stores nothing twice.
"""

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from common_messaging.events import PurchaseInfo
from common_messaging.visitors import user_key
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.occurrences import EventOccurrenceService
from core_service.domain.payments import HoldState, PaymentNotice, Settlement
from core_service.domain.rewards import minor_to_amount
from datastore.schema import Entry, PaymentRecord, RewardHold, SitePaymentSettings
from entries_ledger.holds import release_units
from entries_ledger.shop_events import PAYMENT_CONFIRMED, record_shop_event

_PURCHASES = uuid.UUID("6f1c2a52-4f0e-4b8e-9a57-5b0c1f3d2e71")  # namespace of payment events


def purchase_event_id(payment_id: str) -> UUID:
    return uuid.uuid5(_PURCHASES, payment_id)


class SqlPaymentBook:
    def __init__(self, session: Session) -> None:
        self._s = session

    def webhook_secret(self, site_id: UUID) -> str | None:
        return self._s.scalar(
            select(SitePaymentSettings.webhook_secret).where(SitePaymentSettings.site_id == site_id)
        )

    def recorded(self, payment_id: str, kind: str) -> Settlement | None:
        row = self._s.get(PaymentRecord, (payment_id, kind))
        if row is None:
            return None
        return Settlement(row.outcome, row.entry_id or uuid.UUID(int=0), row.payment_id)

    def lock_hold(self, entry_id: UUID) -> HoldState | None:
        row = self._s.execute(
            select(RewardHold, Entry.campaign_id)
            .join(Entry, Entry.id == RewardHold.entry_id)
            .where(RewardHold.entry_id == entry_id)
            .with_for_update(of=RewardHold)
        ).first()
        if row is None:
            return None
        hold, campaign_id = row
        return HoldState(
            hold.entry_id,
            hold.site_id,
            hold.activity_id,
            campaign_id,
            hold.user_id,
            hold.price_minor,
            hold.currency,
            hold.status,
            hold.expires_at,
        )

    def mark_paid(self, hold: HoldState, notice: PaymentNotice, at: datetime) -> bool:
        changed = self._s.execute(
            update(RewardHold)
            .where(
                RewardHold.entry_id == hold.entry_id,
                RewardHold.status == "held",
                RewardHold.expires_at > at,
            )
            .values(status="paid", settled_at=at, payment_id=notice.payment_id)
            .returning(RewardHold.entry_id)
        ).first()
        if changed is None:
            return False
        amount = minor_to_amount(hold.price_minor, hold.currency)
        purchase = EventOccurred(
            event_id=purchase_event_id(notice.payment_id),
            site_id=hold.site_id,
            campaign_id=hold.campaign_id,
            activity_id=hold.activity_id,
            name="purchase",
            type=EventType.PURCHASE,
            occurred_at=at,
            received_at=at,
            anonymous_id=user_key(hold.user_id),
            user_id=hold.user_id,
            device=DeviceInfo(device_type=DeviceType.OTHER),
            is_new_user=False,
            purchase=PurchaseInfo(
                order_id=notice.payment_id[:128], amount=amount, currency=hold.currency
            ),
            properties={"entry_id": str(hold.entry_id), "source": "payment_webhook"},
            trusted=True,
        )
        EventOccurrenceService().store([purchase], SqlOccurrenceRepository(self._s))
        record_shop_event(
            self._s,
            site_id=hold.site_id,
            event_type=PAYMENT_CONFIRMED,
            event_id=notice.payment_id,
            payload={
                "entry_id": str(hold.entry_id),
                "activity_id": str(hold.activity_id),
                "user_id": hold.user_id,
                "payment_id": notice.payment_id,
                "amount_minor": hold.price_minor,
                "currency": hold.currency,
            },
            occurred_at=at,
        )
        return True

    def release(self, hold: HoldState, at: datetime) -> bool:
        changed = self._s.execute(
            update(RewardHold)
            .where(RewardHold.entry_id == hold.entry_id, RewardHold.status == "held")
            .values(status="failed", settled_at=at)
            .returning(RewardHold.entry_id)
        ).first()
        if changed is None:
            return False
        release_units(self._s, {hold.activity_id: 1})
        return True

    def record(self, notice: PaymentNotice, outcome: str, at: datetime) -> None:
        self._s.execute(
            insert(PaymentRecord).values(
                payment_id=notice.payment_id,
                kind=notice.kind,
                event_id=notice.event_id[:255],
                site_id=notice.site_id,
                entry_id=notice.entry_id,
                amount_minor=notice.amount_minor,
                currency=notice.currency[:3],
                outcome=outcome,
                received_at=at,
            )
        )
