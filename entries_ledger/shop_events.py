"""The one place where facts about rewards become events for the shop's webhooks.

Each call is made inside the unit of work that makes the fact durable (a code issued, a hold
expired, a payment confirmed), so the event exists exactly when the fact does.

The outbound webhooks (the `shop_webhooks` library: endpoints, signing, retries) are built
apart; until that library is merged, this records nothing. When it is, the body of
`record_shop_event` becomes `shop_webhooks.outbox.enqueue_webhook_event(...)` with the same
arguments, and no caller changes.
"""

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

REWARD_ISSUED: Final = "reward.issued"
HOLD_EXPIRED: Final = "hold.expired"
PAYMENT_CONFIRMED: Final = "payment.confirmed"


def record_shop_event(
    session: Session,
    *,
    site_id: UUID,
    event_type: str,
    event_id: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
) -> None:
    """Queue one event for the site's shop webhooks, in the caller's transaction."""
    log.debug(
        "shop_event_not_sent event_type=%s event_id=%s site_id=%s", event_type, event_id, site_id
    )
