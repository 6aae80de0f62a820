"""Cohort facts worked out from a list of purchases by their written definition
(docs/metrics.md, "Cohort LTV"), in Python, for tests to compare the stores' kept cells with."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from common_messaging import EventOccurred
from dashboard_service.domain.money_models import CohortLine

WEEK = timedelta(weeks=1)


def stored_trusted(delivered: Iterable[EventOccurred]) -> list[EventOccurred]:
    """The trusted purchases a store keeps of what was delivered: the first delivery of each
    event id counts, as it was then (a later copy saying otherwise changes nothing)."""
    first: dict[UUID, EventOccurred] = {}
    for event in delivered:
        if event.purchase is not None:
            first.setdefault(event.event_id, event)
    return [e for e in first.values() if e.trusted]


def _firsts(purchases: list[EventOccurred]) -> dict[str, EventOccurred]:
    firsts: dict[str, EventOccurred] = {}
    for p in purchases:
        old = firsts.get(p.visitor_key)
        if old is None or (p.occurred_at, p.event_id) < (old.occurred_at, old.event_id):
            firsts[p.visitor_key] = p
    return firsts


def expected_facts(
    delivered: Iterable[EventOccurred], campaign_id: UUID
) -> tuple[dict[date, int], set[CohortLine]]:
    """Customers per first-purchase day and lines, for the customers `campaign_id` acquired."""
    purchases = stored_trusted(delivered)
    firsts = _firsts(purchases)
    customers: dict[date, int] = defaultdict(int)
    for first in firsts.values():
        if first.campaign_id == campaign_id:
            customers[first.occurred_at.astimezone(UTC).date()] += 1
    sums: dict[tuple[date, int, str], tuple[int, Decimal]] = {}
    for p in purchases:
        first = firsts[p.visitor_key]
        assert p.purchase is not None
        if first.campaign_id != campaign_id:
            continue
        key = (
            first.occurred_at.astimezone(UTC).date(),
            (p.occurred_at - first.occurred_at) // WEEK,
            p.purchase.currency,
        )
        n, total = sums.get(key, (0, Decimal(0)))
        sums[key] = (n + 1, total + p.purchase.amount)
    return dict(customers), {CohortLine(d, k, c, n, a) for (d, k, c), (n, a) in sums.items()}


def expected_new_customers(
    delivered: Iterable[EventOccurred], campaign_id: UUID, start: datetime, end: datetime
) -> int:
    return sum(
        1
        for first in _firsts(stored_trusted(delivered)).values()
        if first.campaign_id == campaign_id and start <= first.occurred_at < end
    )
