"""The benchmark's data: one seeded site/campaign/activities, N realistic occurrences.

Visitors arrive over an hour and each emits a short session (page views, clicks, a form now and
then, sometimes a purchase); the sessions interleave, as on a real shop. The same catalog rows
(with fixed ids) can be seeded into several scratch databases.
"""

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
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

# (device type, browser, os, share of visitors)
DEVICES: tuple[tuple[DeviceType, str | None, str | None, float], ...] = (
    (DeviceType.MOBILE, "Mobile Safari", "iOS", 0.30),
    (DeviceType.MOBILE, "Chrome Mobile", "Android", 0.25),
    (DeviceType.DESKTOP, "Chrome", "Windows", 0.25),
    (DeviceType.DESKTOP, "Firefox", "Mac OS X", 0.10),
    (DeviceType.TABLET, "Mobile Safari", "iOS", 0.07),
    (DeviceType.BOT, "Googlebot", None, 0.03),
)

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
)

SLUGS = ("coupon", "flash-sale", "raffle")
KINDS = (("view", EventType.PAGE_VIEW), ("click", EventType.CLICK), ("form", EventType.FORM_SUBMIT))


@dataclass
class Catalog:
    """Fixed ids, so the same rows can be seeded into more than one scratch database."""

    site_id: uuid.UUID = field(default_factory=uuid.uuid4)
    site_key: str = field(default_factory=lambda: f"pk_bench_{uuid.uuid4().hex[:12]}")
    campaign_id: uuid.UUID = field(default_factory=uuid.uuid4)
    activities: dict[str, uuid.UUID] = field(
        default_factory=lambda: {slug: uuid.uuid4() for slug in SLUGS}
    )
    # (slug, kind) -> definition id
    definitions: dict[tuple[str, str], uuid.UUID] = field(
        default_factory=lambda: {(s, k): uuid.uuid4() for s in SLUGS for k, _ in KINDS}
    )


def seed_catalog(session: Session, catalog: Catalog, now: datetime) -> None:
    """Site (no allowed origins: the benchmark sends no Origin), campaign, activities, defs."""
    stamps = {"created_at": now, "updated_at": now}
    session.add(
        Site(
            id=catalog.site_id,
            name="Benchmark shop",
            site_key=catalog.site_key,
            allowed_origins=[],
            is_demo=False,
            active=True,
            **stamps,
        )
    )
    session.flush()
    session.add(Campaign(id=catalog.campaign_id, site_id=catalog.site_id, name="Bench", **stamps))
    session.flush()
    for slug, activity_id in catalog.activities.items():
        session.add(
            Activity(
                id=activity_id,
                campaign_id=catalog.campaign_id,
                name=slug,
                type="fcfs",
                capacity=1000,
                per_user_limit=1,
                active=True,
                **stamps,
            )
        )
    session.flush()
    for (slug, kind), definition_id in catalog.definitions.items():
        trigger = dict(KINDS)[kind]
        session.add(
            EventDefinition(
                id=definition_id,
                site_id=catalog.site_id,
                campaign_id=catalog.campaign_id,
                activity_id=catalog.activities[slug],
                name=f"{slug} {kind}",
                trigger_type=trigger.value,
                url_pattern=f"/{slug}*" if kind == "view" else None,
                selector=f"#{slug}-{kind}" if kind != "view" else None,
                active=True,
                **stamps,
            )
        )
    session.flush()


def _session_events(
    rng: random.Random, catalog: Catalog, visitor: int, start: datetime, received: datetime
) -> list[EventOccurred]:
    device_type, browser, os_name, _ = rng.choices(DEVICES, weights=[d[3] for d in DEVICES])[0]
    user_id = f"user-{visitor}" if rng.random() < 0.2 else None
    common: dict[str, Any] = {
        "site_id": catalog.site_id,
        "received_at": received,
        "anonymous_id": f"anon-{visitor:07d}",
        "user_id": user_id,
        "session_id": f"sess-{visitor:07d}",
        "device": DeviceInfo(device_type=device_type, browser=browser, os=os_name),
        "is_new_user": rng.random() < 0.6,
        "referrer": rng.choice((None, "https://www.google.com/", "https://instagram.com/")),
    }
    events: list[EventOccurred] = []
    at = start
    for _ in range(rng.randint(1, 15)):
        at += timedelta(seconds=rng.randint(1, 40))
        slug = rng.choice(SLUGS)
        roll = rng.random()
        extra: dict[str, Any]
        if roll < 0.03:
            extra = {
                "name": "Order Completed",
                "type": EventType.PURCHASE,
                "purchase": PurchaseInfo(
                    order_id=f"o-{uuid.uuid4().hex[:10]}",
                    amount=Decimal(rng.randint(500, 25_000)) / 100,
                    currency="EUR",
                ),
                "properties": {"items": rng.randint(1, 4)},
            }
        elif roll < 0.05:
            extra = {"name": "Newsletter Signup", "type": EventType.CUSTOM}
        else:
            kind = "view" if roll < 0.65 else "click" if roll < 0.93 else "form"
            extra = {
                "name": f"{slug} {kind}",
                "type": dict(KINDS)[kind],
                "definition_id": catalog.definitions[(slug, kind)],
                "campaign_id": catalog.campaign_id,
                "activity_id": catalog.activities[slug],
                "url": f"https://shop.example/{slug}?utm_source=bench",
            }
        events.append(EventOccurred(event_id=uuid.uuid4(), occurred_at=at, **common, **extra))
    return events


def generate_events(catalog: Catalog, n: int, seed: int = 7) -> list[EventOccurred]:
    """Exactly n occurrences over the last hour, ordered by time (sessions interleave)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=1)
    events: list[EventOccurred] = []
    visitor = 0
    while len(events) < n:
        arrival = start + timedelta(seconds=rng.randint(0, 3000))
        events.extend(_session_events(rng, catalog, visitor, arrival, now))
        visitor += 1
    events = events[:n]
    events.sort(key=lambda e: e.occurred_at)
    return events


def collected(events: list[EventOccurred]) -> list[EventOccurred]:
    """The events as entry_service publishes them: not enriched, with a user agent string (one
    per visitor), so the consumer pays for the device parse and the first-sighting upsert."""
    return [
        e.model_copy(
            update={
                "enriched": False,
                "device": DeviceInfo(device_type=DeviceType.OTHER),
                "is_new_user": False,
                "user_agent": USER_AGENTS[hash(e.visitor_key) % len(USER_AGENTS)],
            }
        )
        for e in events
    ]


# Events a request of the snippet carries at most, as the HTTP phase posts them.
REQUEST_EVENTS = 10


def kafka_messages(
    events: list[EventOccurred], per_request: int = REQUEST_EVENTS
) -> list[OutgoingMessage]:
    """What entry_service publishes for these events: each visitor's events posted in requests
    of up to `per_request` (a session of 1 to 15 events is one or two requests), one message a
    request with its events collected, keyed `site:visitor`, in the order of the requests'
    first events. `per_request=1` gives a message per event, as the edge published before."""
    by_visitor: dict[str, list[EventOccurred]] = {}
    for e in collected(events):
        by_visitor.setdefault(e.visitor_key, []).append(e)
    requests = [
        posted[i : i + per_request]
        for posted in by_visitor.values()
        for i in range(0, len(posted), per_request)
    ]
    requests.sort(key=lambda request: request[0].occurred_at)
    return [_request_message(request) for request in requests]


def _request_message(request: list[EventOccurred]) -> OutgoingMessage:
    first = request[0]
    key = f"{first.site_id}:{first.visitor_key}".encode()
    if len(request) == 1:
        return OutgoingMessage(encode(first, message_id=first.event_id, producer="benchmark"), key)
    value = encode_collected(
        [e.model_dump() for e in request],
        message_id=first.event_id,
        producer="benchmark",
        produced_at=first.received_at,
    )
    return OutgoingMessage(value, key)


def user_ids(events: list[EventOccurred]) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    ids: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    for e in events:
        ids.setdefault((e.site_id, e.visitor_key), uuid.uuid4())
    return ids


def user_rows(
    events: list[EventOccurred], ids: dict[tuple[uuid.UUID, str], uuid.UUID]
) -> list[dict[str, Any]]:
    """Rows of `users` for the raw Postgres baseline (created before its timing)."""
    first = {(e.site_id, e.visitor_key): e for e in reversed(events)}
    return [
        {
            "id": ids[k],
            "site_id": k[0],
            "user_key": k[1],
            "external_id": e.user_id,
            "created_at": e.received_at,
        }
        for k, e in first.items()
    ]


OCCURRENCE_COLUMNS = (
    "event_id, site_id, user_id, definition_id, campaign_id, activity_id, name, type, "
    "occurred_at, received_at, anonymous_id, session_id, url, referrer, device_type, browser, "
    "os, is_new_user, properties"
)


def occurrence_tuple(e: EventOccurred, user_id: uuid.UUID) -> tuple[Any, ...]:
    """The same values SqlOccurrenceRepository writes, in OCCURRENCE_COLUMNS order."""
    return (
        e.event_id,
        e.site_id,
        user_id,
        e.definition_id,
        e.campaign_id,
        e.activity_id,
        e.name,
        e.type.value,
        e.occurred_at,
        e.received_at,
        e.anonymous_id,
        e.session_id,
        e.url,
        e.referrer,
        e.device.device_type.value,
        e.device.browser,
        e.device.os,
        e.is_new_user,
        Jsonb(e.properties),
    )


def http_batch(catalog: Catalog, size: int = 10) -> str:
    """A fixed JSON batch for the HTTP load (ids repeat across requests; the consumer dedupes)."""
    occurred = datetime.now(UTC).replace(microsecond=0).isoformat()
    events = []
    for i in range(size):
        slug = SLUGS[i % len(SLUGS)]
        kind, trigger = KINDS[i % 2]
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                "definition_id": str(catalog.definitions[(slug, kind)]),
                "type": trigger.value,
                "occurred_at": occurred,
                "anonymous_id": f"http-visitor-{i % 4}",
                "session_id": f"http-session-{i % 4}",
                "url": f"https://shop.example/{slug}",
                "user_agent": USER_AGENTS[i % len(USER_AGENTS)],
            }
        )
    return json.dumps({"site_key": catalog.site_key, "events": events}, separators=(",", ":"))
