"""Builders of test data: occurrences, messages and seeded catalog rows."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from common_messaging import (
    DeviceInfo,
    DeviceType,
    EventOccurred,
    EventType,
    OutgoingMessage,
    PurchaseInfo,
    encode,
    encode_collected,
)
from datastore.schema import Activity, Campaign, EventDefinition, Site

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def occurrence(**overrides: Any) -> EventOccurred:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "site_id": uuid.uuid4(),
        "name": "Product Viewed",
        "type": EventType.PAGE_VIEW,
        "occurred_at": NOW,
        "received_at": NOW,
        "anonymous_id": "anon-1",
        "device": DeviceInfo(device_type=DeviceType.DESKTOP, browser="Chrome", os="Linux"),
        "is_new_user": True,
    }
    fields.update(overrides)
    return EventOccurred(**fields)


def purchase(amount: str = "19.99", *, trusted: bool = True, **overrides: Any) -> EventOccurred:
    """A purchase the site vouched for (server to server) unless `trusted=False` (a browser's)."""
    return occurrence(
        type=EventType.PURCHASE,
        name="Order Completed",
        purchase=PurchaseInfo(order_id="o-1", amount=Decimal(amount), currency="EUR"),
        trusted=trusted,
        **overrides,
    )


def message(event: EventOccurred) -> OutgoingMessage:
    return OutgoingMessage(
        value=encode(event, message_id=event.event_id, producer="test"),
        key=event.visitor_key.encode(),
    )


def collected_message(events: Sequence[EventOccurred]) -> OutgoingMessage:
    """Events in one message, as the edge publishes a request's events of one visitor."""
    fields = [event.model_dump() for event in events]
    return OutgoingMessage(
        value=encode_collected(
            fields, message_id=events[0].event_id, producer="test", produced_at=NOW
        ),
        key=events[0].visitor_key.encode(),
    )


def seed_site(session: Session, *, origins: list[str] | None = None, active: bool = True) -> Site:
    site = Site(
        name="Test shop",
        site_key=f"pk_{uuid.uuid4().hex[:12]}",
        allowed_origins=origins if origins is not None else ["https://shop.example"],
        is_demo=False,
        active=active,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(site)
    session.flush()
    return site


def seed_campaign(
    session: Session, site: Site, activities: int = 2
) -> tuple[Campaign, list[Activity]]:
    campaign = Campaign(
        site_id=site.id, name="Launch", status="active", created_at=NOW, updated_at=NOW
    )
    session.add(campaign)
    session.flush()
    rows = [
        Activity(
            campaign_id=campaign.id,
            name=f"Activity {i}",
            type="fcfs",
            capacity=100,
            per_user_limit=1,
            active=True,
            created_at=NOW,
            updated_at=NOW,
        )
        for i in range(activities)
    ]
    session.add_all(rows)
    session.flush()
    return campaign, rows


def seed_definition(
    session: Session,
    site: Site,
    name: str,
    trigger_type: str,
    *,
    activity: Activity | None = None,
    active: bool = True,
    **extra: Any,
) -> EventDefinition:
    definition = EventDefinition(
        site_id=site.id,
        campaign_id=activity.campaign_id if activity else None,
        activity_id=activity.id if activity else None,
        name=name,
        trigger_type=trigger_type,
        active=active,
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )
    session.add(definition)
    session.flush()
    return definition
