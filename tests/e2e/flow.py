"""The README's walkthrough as code: used by the in-process and the `pulse run` end-to-end tests."""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


class Response(Protocol):
    status_code: int
    text: str

    def json(self) -> Any: ...


class Client(Protocol):
    def get(self, url: str, **kw: Any) -> Any: ...
    def post(self, url: str, **kw: Any) -> Any: ...


@dataclass
class Catalog:
    site_key: str
    campaign_id: str
    activities: list[str]
    definitions: dict[str, str]


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def create_catalog(core: Client, admin: dict[str, str]) -> Catalog:
    site = _ok(
        core.post(
            "/v1/sites",
            headers=admin,
            json={"name": "E2E shop", "allowed_origins": ["https://shop.example"]},
        )
    )
    campaign = _ok(
        core.post(
            "/v1/campaigns", headers=admin, json={"site_id": site["id"], "name": "Winter launch"}
        )
    )
    activities, definitions = [], {}
    for slug in ("coupon", "flash"):
        activity = _ok(
            core.post(
                f"/v1/campaigns/{campaign['id']}/activities",
                headers=admin,
                json={"name": slug, "type": "fcfs", "capacity": 100},
            )
        )
        activities.append(activity["id"])
        for kind, trigger in (
            ("view", {"type": "page_view", "url_pattern": f"/{slug}*"}),
            ("click", {"type": "click", "selector": f"#{slug}"}),
        ):
            definition = _ok(
                core.post(
                    "/v1/event-definitions",
                    headers=admin,
                    json={
                        "site_id": site["id"],
                        "campaign_id": campaign["id"],
                        "activity_id": activity["id"],
                        "name": f"{slug} {kind}",
                        "trigger": trigger,
                    },
                )
            )
            definitions[f"{slug} {kind}"] = definition["id"]
    return Catalog(site["site_key"], campaign["id"], activities, definitions)


def event(definition_id: str, kind: str, visitor: str, ua: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "definition_id": definition_id,
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "anonymous_id": visitor,
        "user_agent": ua,
        **extra,
    }


def sample_batch(catalog: Catalog) -> dict[str, Any]:
    """3 visitors: 4 coupon views, 2 coupon clicks, 1 flash view, 1 purchase (no definition)."""
    d = catalog.definitions
    events = [
        event(d["coupon view"], "page_view", "v1", DESKTOP_UA),
        event(d["coupon view"], "page_view", "v1", DESKTOP_UA),
        event(d["coupon view"], "page_view", "v2", PHONE_UA),
        event(d["coupon view"], "page_view", "v3", PHONE_UA),
        event(d["coupon click"], "click", "v1", DESKTOP_UA),
        event(d["coupon click"], "click", "v2", PHONE_UA),
        event(d["flash view"], "page_view", "v3", PHONE_UA),
    ]
    purchase = event(d["coupon view"], "purchase", "v2", PHONE_UA)
    del purchase["definition_id"]
    purchase.update(
        name="Order Completed", properties={"order_id": "o-1", "amount": 25.5, "currency": "EUR"}
    )
    return {"site_key": catalog.site_key, "events": [*events, purchase]}


def wait_for_metrics(
    dashboard: Client, token: dict[str, str], campaign_id: str, visits: int, timeout_s: float
) -> tuple[dict[str, Any], float]:
    """Poll the metrics until `visits` show; returns them and how long it took."""
    start = time.monotonic()
    while True:
        response = dashboard.get(f"/v1/campaigns/{campaign_id}/metrics", headers=token)
        elapsed = time.monotonic() - start
        if response.status_code == 503:  # the analytics engine is still opening a new index
            assert elapsed < timeout_s, f"metrics still 503 after {timeout_s} s: {response.text}"
            time.sleep(0.2)
            continue
        metrics = _ok(response, 200)
        if metrics["totals"]["visits"] >= visits:
            return metrics, elapsed
        assert elapsed < timeout_s, f"metrics stuck at {metrics['totals']}"
        time.sleep(0.1)


def check_sample_metrics(metrics: dict[str, Any], catalog: Catalog) -> None:
    totals = metrics["totals"]
    assert totals["visits"] == 5 and totals["clicks"] == 2
    assert totals["unique_visitors"] == 3
    assert totals["click_rate"] == 0.4
    rows = {row["activity_id"]: row for row in metrics["activities"]}
    coupon, flash = (rows[a] for a in catalog.activities)
    assert (coupon["visits"], coupon["clicks"], coupon["click_rate"]) == (4, 2, 0.5)
    assert (flash["visits"], flash["clicks"]) == (1, 0)
    devices = {d["device_type"]: d["events"] for d in metrics["devices"]}
    assert devices["mobile"] == 4 and devices["desktop"] == 3
