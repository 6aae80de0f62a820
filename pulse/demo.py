"""`pulse run --demo`: seed a demo shop through the admin API, then post a trickle of events."""

import asyncio
import logging
import random
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEMO_SITE = "Pulse demo shop"
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
)
ACTIVITIES: tuple[dict[str, Any], ...] = (
    {"name": "First 100 get a coupon", "type": "fcfs", "capacity": 100, "slug": "coupon"},
    {"name": "Limited flash sale", "type": "flash_sale", "capacity": 50, "slug": "flash-sale"},
    {"name": "Newsletter raffle", "type": "raffle", "capacity": None, "slug": "raffle"},
)


@dataclass(frozen=True, slots=True)
class DemoIds:
    site_key: str
    campaign_id: str
    definitions: list[dict[str, Any]]
    # The shop's backend reports orders with it (POST /v1/server/events): trusted revenue.
    signing_secret: str = ""


async def seed(core_url: str, admin_token: str, origins: list[str]) -> DemoIds:
    """Create the demo site, campaign, activities and definitions unless they exist."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=core_url, headers=headers, timeout=10) as client:
        sites = (await client.get("/v1/sites", params={"limit": 200})).raise_for_status().json()
        site = next((s for s in sites["items"] if s["name"] == DEMO_SITE), None)
        if site is None:
            site = await _post(
                client,
                "/v1/sites",
                {
                    "name": DEMO_SITE,
                    "allowed_origins": origins,
                    "demo": True,
                },
            )
            campaign = await _post(
                client,
                "/v1/campaigns",
                {
                    "site_id": site["id"],
                    "name": "Winter launch",
                    # A start time gives the dashboard a "since the start" window, by minute.
                    "starts_at": datetime.now(UTC).isoformat(),
                },
            )
            for spec in ACTIVITIES:
                await _seed_activity(client, site["id"], campaign["id"], spec)
            # Money for the dashboard's first look: the shop reports in EUR, as its orders are.
            for path, body in (
                (f"/v1/sites/{site['id']}/money", {"currency": "EUR"}),
                (f"/v1/campaigns/{campaign['id']}/budget", {"amount": "500.00"}),
                (f"/v1/campaigns/{campaign['id']}/spend/total", {"amount": "40.00"}),
            ):
                answer = await client.put(path, json=body)
                if answer.status_code >= 400:
                    raise RuntimeError(f"demo seed failed at {path}: {answer.text}")
        defs = (
            (
                await client.get(
                    "/v1/event-definitions", params={"site_id": site["id"], "limit": 200}
                )
            )
            .raise_for_status()
            .json()["items"]
        )
    campaign_id = next(d["campaign_id"] for d in defs if d["campaign_id"])
    return DemoIds(site["site_key"], campaign_id, defs, site.get("signing_secret", ""))


async def _seed_activity(
    client: httpx.AsyncClient, site_id: str, campaign_id: str, spec: dict[str, Any]
) -> None:
    body = {k: spec[k] for k in ("name", "type", "capacity")}
    activity = await _post(client, f"/v1/campaigns/{campaign_id}/activities", body)
    slug = spec["slug"]
    for name, trigger in (
        (f"{slug}: page viewed", {"type": "page_view", "url_pattern": f"/demo/{slug}*"}),
        (f"{slug}: button clicked", {"type": "click", "selector": f"#{slug}-cta"}),
        (f"{slug}: purchase", {"type": "purchase"}),
    ):
        await _post(
            client,
            "/v1/event-definitions",
            {
                "site_id": site_id,
                "campaign_id": campaign_id,
                "activity_id": activity["id"],
                "name": name,
                "trigger": trigger,
            },
        )


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"demo seed failed at {path}: {response.status_code} {response.text}")
    result: dict[str, Any] = response.json()
    return result


def synthetic_batch(ids: DemoIds, rng: random.Random, visitors: int) -> dict[str, Any]:
    """Journeys of a few visitors: a view, sometimes a click, now and then a purchase."""
    by_slug: dict[str, dict[str, dict[str, Any]]] = {}
    for definition in ids.definitions:
        slug = definition["name"].split(":")[0]
        by_slug.setdefault(slug, {})[definition["trigger"]["type"]] = definition
    events: list[dict[str, Any]] = []
    for _ in range(visitors):
        slug = rng.choice(sorted(by_slug))
        journey = by_slug[slug]
        visitor = f"demo-{rng.randrange(2000)}"
        user_agent = rng.choices(USER_AGENTS, weights=(40, 35, 12, 10, 3))[0]
        steps = ["page_view"]
        if rng.random() < 0.35:
            steps.append("click")
            if rng.random() < 0.3:
                steps.append("purchase")
        for step in steps:
            events.append(_event(journey[step], visitor, user_agent, slug, rng))
    return {"site_key": ids.site_key, "events": events}


def _event(
    definition: dict[str, Any], visitor: str, user_agent: str, slug: str, rng: random.Random
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "definition_id": definition["id"],
        "type": definition["trigger"]["type"],
        "occurred_at": datetime.now(UTC).isoformat(),
        "anonymous_id": visitor,
        "user_agent": user_agent,
        "url": f"http://localhost/demo/{slug}",
    }
    if event["type"] == "purchase":
        event["properties"] = {
            "order_id": f"order-{uuid.uuid4().hex[:8]}",
            "amount": round(rng.uniform(5, 120), 2),
            "currency": "EUR",
        }
    return event


async def trickle(
    urls: dict[str, str],
    admin_token: str,
    origins: list[str],
    interval_s: float = 1.0,
    on_seeded: Callable[[DemoIds], None] | None = None,
) -> None:
    """Seed, then post a few synthetic events every `interval_s` until cancelled."""
    core_url, entry_url, dashboard_url = urls["core"], urls["entry"], urls["dashboard"]
    await _wait_healthy([core_url, entry_url])
    ids = await seed(core_url, admin_token, origins)
    log.info("demo_seeded site_key=%s campaign_id=%s", ids.site_key, ids.campaign_id)
    if on_seeded is not None:
        on_seeded(ids)
    sys.stdout.write(
        f"Demo shop seeded: site key {ids.site_key}\n"
        f"  metrics  {dashboard_url}/v1/campaigns/{ids.campaign_id}/metrics\n"
        f"  dashboard {dashboard_url}/#/campaigns/{ids.campaign_id} (live)\n"
        f"  demo page {entry_url}/demo/ (the tracking snippet at work)\n"
    )
    sys.stdout.flush()
    rng = random.Random()
    async with httpx.AsyncClient(base_url=entry_url, timeout=10) as client:
        while True:
            batch = synthetic_batch(ids, rng, rng.randint(1, 4))
            # As a shop does: the browser tracks behaviour, the shop's server reports orders.
            orders = [e for e in batch["events"] if e["type"] == "purchase"]
            browsing = [e for e in batch["events"] if e["type"] != "purchase"]
            server = {"Authorization": f"Bearer {ids.signing_secret}"}
            try:
                if browsing:
                    sent = await client.post("/v1/events", json={**batch, "events": browsing})
                    sent.raise_for_status()
                if orders:
                    sent = await client.post(
                        "/v1/server/events", json={**batch, "events": orders}, headers=server
                    )
                    sent.raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("demo_post_failed error=%s", exc)
            await asyncio.sleep(interval_s)


async def _wait_healthy(urls: list[str], timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        for url in urls:
            while True:
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"{url} did not become healthy")
                await asyncio.sleep(0.2)
