"""The dashboard benchmark's data: one campaign, N activities, a day of analytics documents.

Documents are generated as dicts of exactly the shape core_service indexes
(`analytics_index.document.document`; `check_shape` proves it against a real event) and
streamed to `_bulk` without ever holding them all in memory. Traffic: visitors arrive over the
day, each with a short session on one activity (popular activities get more: a Zipf-like
weight); about 55% page views, 25% clicks, 5% form submits, 3% purchases, 2% custom events;
and confirmed entries, up to each activity's capacity (some sell out, some do not).
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics_index.document import document
from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from common_messaging.visitors import user_key, visitor_key

DEVICES = (  # (device type, browser, os, weight)
    ("mobile", "Mobile Safari", "iOS", 30),
    ("mobile", "Chrome Mobile", "Android", 25),
    ("desktop", "Chrome", "Windows", 25),
    ("desktop", "Firefox", "Mac OS X", 10),
    ("tablet", "Mobile Safari", "iOS", 7),
    ("bot", "Googlebot", None, 3),
)
KINDS = ("page_view", "click", "form_submit", "purchase", "custom")
KIND_WEIGHTS = (55, 25, 5, 3, 2)
SPAN = timedelta(hours=24)


@dataclass(frozen=True)
class Campaign:
    site_id: uuid.UUID
    campaign_id: uuid.UUID
    activity_ids: tuple[uuid.UUID, ...]
    capacities: tuple[int, ...]
    start: datetime  # the campaign's (and every activity's) start: SPAN before `end`
    end: datetime

    @classmethod
    def make(cls, activities: int, end: datetime, rng: random.Random) -> "Campaign":
        return cls(
            site_id=uuid.uuid4(),
            campaign_id=uuid.uuid4(),
            activity_ids=tuple(uuid.uuid4() for _ in range(activities)),
            capacities=tuple(rng.choice((500, 1000, 2000)) for _ in range(activities)),
            start=end - SPAN,
            end=end,
        )


def _base(c: Campaign) -> dict[str, Any]:
    return {
        "site_id": str(c.site_id),
        "campaign_id": str(c.campaign_id),
        "currency": None,
        "revenue": 0.0,
        "properties": {},
    }


def _doc(
    c: Campaign, activity: int, kind: str, at: datetime, visitor: str, device: int, new: bool
) -> dict[str, Any]:
    device_type, browser, os_name, _ = DEVICES[device]
    doc = _base(c)
    doc.update(
        event_id=str(uuid.uuid4()),
        activity_id=str(c.activity_ids[activity]),
        definition_id=None if kind == "entry" else str(c.activity_ids[activity]),
        name=kind,
        type=kind,
        occurred_at=at.isoformat(),
        received_at=at.isoformat(),
        visitor_key=visitor,
        session_id=None,
        device_type=device_type,
        browser=browser,
        os=os_name,
        is_new_user=new,
        url=None,
    )
    return doc


def traffic(c: Campaign, events: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """Exactly `events` documents: entries first (up to capacity), then sessions."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(c.activity_ids))]
    device_weights = [d[3] for d in DEVICES]
    produced = 0
    for a, capacity in enumerate(c.capacities):
        demand = int(capacity * rng.uniform(0.6, 1.4))  # about half the activities sell out
        at = c.start
        for n in range(min(capacity, demand, events - produced)):
            at += timedelta(seconds=rng.uniform(0.05, 20))
            device = rng.choices(range(len(DEVICES)), device_weights)[0]
            yield _doc(c, a, "entry", at, user_key(f"entrant-{a}-{n}"), device, rng.random() < 0.5)
            produced += 1
    visitor = 0
    seconds = SPAN.total_seconds() - 900
    while produced < events:
        visitor += 1
        activity = rng.choices(range(len(c.activity_ids)), weights)[0]
        device = rng.choices(range(len(DEVICES)), device_weights)[0]
        key = visitor_key(f"user-{visitor}" if rng.random() < 0.2 else None, f"anon-{visitor}")
        new = rng.random() < 0.6
        at = c.start + timedelta(seconds=rng.uniform(0, seconds))
        for kind in rng.choices(KINDS, KIND_WEIGHTS, k=min(rng.randint(1, 15), events - produced)):
            at += timedelta(seconds=rng.randint(1, 40))
            doc = _doc(c, activity, kind, at, key, device, new)
            if kind == "purchase":
                doc.update(revenue=rng.randint(500, 25_000) / 100, currency="EUR")
            yield doc
            produced += 1


def check_shape(c: Campaign) -> None:
    """The generated documents have exactly the fields core_service's writer produces."""
    event = EventOccurred(
        event_id=uuid.uuid4(),
        site_id=c.site_id,
        campaign_id=c.campaign_id,
        activity_id=c.activity_ids[0],
        name="entry",
        type=EventType.ENTRY,
        occurred_at=datetime.now(UTC),
        received_at=datetime.now(UTC),
        anonymous_id="x",
        device=DeviceInfo(device_type=DeviceType.MOBILE),
        is_new_user=True,
    )
    generated = next(traffic(c, 1))
    if set(generated) != set(document(event)):
        raise AssertionError(f"document shape drifted: {set(generated) ^ set(document(event))}")
