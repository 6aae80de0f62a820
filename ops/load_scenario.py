"""The traffic behind the dashboard pictures: steady events, an opening, dashboard readers.

Timeline (seconds from the start, for a run of `seconds`):
- all along: event batches of 10 (one event in 20 invalid), a batch for an unknown site every
  5 s, and a dashboard reader;
- at 20% of the run: an opening, 800 entry attempts from 500 users on 200 seats at once (some
  users retry, so the per-user limit refuses some);
- the caller pauses one consumer in the middle third (lag rises) and sends poison messages.
"""

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

UAS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
)


@dataclass
class Shop:
    site_key: str
    campaign_id: str
    activity_id: str
    view_id: str
    click_id: str


@dataclass
class Counts:
    batches: int = 0
    entries: dict[str, int] = field(default_factory=dict)
    reads: int = 0


async def seed(core: httpx.AsyncClient) -> Shop:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await core.post(path, json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    site = await post("/v1/sites", {"name": "Load shop", "allowed_origins": ["*"], "demo": True})
    campaign = await post("/v1/campaigns", {"site_id": site["id"], "name": "Spring opening"})
    activity = await post(
        f"/v1/campaigns/{campaign['id']}/activities",
        {"name": "First 200", "type": "fcfs", "capacity": 200, "per_user_limit": 1},
    )
    ids = []
    for name, trigger in (
        ("Opening page viewed", {"type": "page_view", "url_pattern": "/opening*"}),
        ("Enter button clicked", {"type": "click", "selector": "#enter"}),
    ):
        definition = await post(
            "/v1/event-definitions",
            {
                "site_id": site["id"],
                "campaign_id": campaign["id"],
                "activity_id": activity["id"],
                "name": name,
                "trigger": trigger,
            },
        )
        ids.append(definition["id"])
    return Shop(site["site_key"], campaign["id"], activity["id"], ids[0], ids[1])


def _batch(shop: Shop, rng: random.Random, size: int = 10) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    events = []
    for _ in range(size):
        click = rng.random() < 0.3
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                "definition_id": shop.click_id if click else shop.view_id,
                "type": "click" if click else "page_view",
                "occurred_at": now,
                "anonymous_id": f"visitor-{rng.randrange(5000)}",
                "user_agent": rng.choice(UAS),
                "url": "https://shop.example/opening",
            }
        )
    if rng.random() < 0.5:
        events[0]["type"] = "teleport"  # refused: not an event type
    return {"site_key": shop.site_key, "events": events}


async def _events(
    entry: httpx.AsyncClient, shop: Shop, until: float, counts: Counts, seed: int
) -> None:
    rng = random.Random(seed)
    tick = 0
    while time.monotonic() < until:
        await entry.post("/v1/events", json=_batch(shop, rng))
        counts.batches += 1
        tick += 1
        if tick % 50 == 0:
            await entry.post("/v1/events", json={"site_key": "no-such-site", "events": []})
        await asyncio.sleep(0.1)


async def _reader(dashboard: httpx.AsyncClient, shop: Shop, until: float, counts: Counts) -> None:
    while time.monotonic() < until:
        await dashboard.get(f"/v1/campaigns/{shop.campaign_id}/metrics")
        counts.reads += 1
        await asyncio.sleep(0.5)


async def _opening(entry: httpx.AsyncClient, shop: Shop, counts: Counts) -> None:
    users = [f"shopper-{n}" for n in range(500)]
    attempts = users + random.Random(3).choices(users[:60], k=300)  # eager ones retry
    gate = asyncio.Semaphore(40)

    async def attempt(user: str) -> None:
        async with gate:
            response = await entry.post(
                f"/v1/activities/{shop.activity_id}/entries",
                json={"user_id": user},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            body = response.json()
            key = body.get("status") or body.get("error", {}).get("code", str(response.status_code))
            counts.entries[key] = counts.entries.get(key, 0) + 1

    await asyncio.gather(*(attempt(u) for u in attempts))


async def run(
    urls: dict[str, str], admin_token: str, reader_token: str, seconds: float
) -> tuple[Shop, Counts]:
    limits = httpx.Limits(max_connections=60)
    async with (
        httpx.AsyncClient(
            base_url=urls["core"], timeout=30, headers={"Authorization": f"Bearer {admin_token}"}
        ) as core,
        httpx.AsyncClient(base_url=urls["entry"], timeout=30, limits=limits) as entry,
        httpx.AsyncClient(
            base_url=urls["dashboard"],
            timeout=30,
            headers={"Authorization": f"Bearer {reader_token}"},
        ) as dashboard,
    ):
        shop = await seed(core)
        counts = Counts()
        start = time.monotonic()
        until = start + seconds

        async def opening_later() -> None:
            await asyncio.sleep(seconds * 0.2)
            await _opening(entry, shop, counts)

        await asyncio.gather(
            *(_events(entry, shop, until, counts, seed) for seed in range(3)),
            _reader(dashboard, shop, until, counts),
            opening_later(),
        )
        return shop, counts
