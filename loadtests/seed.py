"""The run's shop, seeded through the admin API as a shop's staff would: a site, a campaign,
its activities and the four event definitions the browsing shoppers trigger."""

from dataclasses import dataclass
from typing import Any

import httpx

ORIGIN = "https://shop.loadtest.example"
TRIGGERS: dict[str, dict[str, str]] = {
    "page_view": {"type": "page_view", "url_pattern": "/coupon*"},
    "click": {"type": "click", "selector": "#get-coupon"},
    "form_submit": {"type": "form_submit", "selector": "#signup"},
    "purchase": {"type": "purchase"},
}


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    capacity: int
    per_user_limit: int
    attempts_per_shopper: int


@dataclass(frozen=True)
class Shop:
    site_id: str
    site_key: str
    signing_secret: str
    campaign_id: str
    definitions: dict[str, str]
    activity_ids: list[str]


def seed(core_url: str, admin_token: str, run_id: str, activities: list[ActivitySpec]) -> Shop:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=core_url, headers=headers, timeout=30) as core:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = core.post(path, json=body)
            response.raise_for_status()
            created: dict[str, Any] = response.json()
            return created

        site = post("/v1/sites", {"name": f"Load test {run_id}", "allowed_origins": [ORIGIN]})
        secret = core.get(f"/v1/sites/{site['id']}").raise_for_status().json()["signing_secret"]
        campaign = post("/v1/campaigns", {"site_id": site["id"], "name": f"Opening {run_id}"})
        ids = [
            post(
                f"/v1/campaigns/{campaign['id']}/activities",
                {
                    "name": a.name,
                    "type": "fcfs",
                    "capacity": a.capacity,
                    "per_user_limit": a.per_user_limit,
                },
            )["id"]
            for a in activities
        ]
        definitions = {
            kind: post(
                "/v1/event-definitions",
                {
                    "site_id": site["id"],
                    "campaign_id": campaign["id"],
                    "activity_id": ids[0],
                    "name": f"{kind} ({run_id})",
                    "trigger": trigger,
                },
            )["id"]
            for kind, trigger in TRIGGERS.items()
        }
    return Shop(site["id"], site["site_key"], secret, campaign["id"], definitions, ids)
