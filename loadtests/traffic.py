"""What real shop traffic looks like: user agents, event batches as the snippet sends them.

No Locust here, so the mix can be unit-tested. Shares follow the pipeline benchmark's data set
(benchmarks/dataset.py): about 55% mobile, 35% desktop, 7% tablet, 3% bots.
"""

import random
import uuid
from datetime import UTC, datetime
from typing import Any

USER_AGENTS: list[tuple[float, str]] = [
    (
        0.55,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        0.35,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        0.07,
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (0.03, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
]
RETURNING_SHARE = 0.3  # sessions by a visitor seen before (same anonymous id)
PURCHASE_SHARE = 0.05  # sessions that end in a purchase


def user_agent(rng: random.Random) -> str:
    weights = [w for w, _ in USER_AGENTS]
    return rng.choices([ua for _, ua in USER_AGENTS], weights=weights)[0]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shopper_ip(rng: random.Random) -> str:
    """A shopper's address as the ingress forwards it (X-Forwarded-For), in 10.0.0.0/8."""
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


class Visitors:
    """Anonymous ids seen before in this process, so a share of sessions are returning."""

    def __init__(self, rng: random.Random, cap: int = 5000) -> None:
        self._rng = rng
        self._seen: list[str] = []
        self._cap = cap

    def next(self) -> str:
        if self._seen and self._rng.random() < RETURNING_SHARE:
            return self._rng.choice(self._seen)
        visitor = str(uuid.uuid4())
        if len(self._seen) < self._cap:
            self._seen.append(visitor)
        return visitor


def session_events(
    rng: random.Random,
    definitions: dict[str, str],
    anonymous_id: str,
    session_id: str,
    user_agent: str,
) -> list[dict[str, Any]]:
    """One visit: page views, clicks, perhaps a form submit and a purchase, in the order a
    shopper does them, each with its own event id (a retry reuses the batch unchanged)."""
    events: list[dict[str, Any]] = []

    def add(kind: str, **extra: Any) -> None:
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                "definition_id": definitions[kind],
                "type": kind,
                "occurred_at": now_iso(),
                "anonymous_id": anonymous_id,
                "session_id": session_id,
                "user_agent": user_agent,
                **extra,
            }
        )

    for _ in range(rng.randint(1, 4)):
        add("page_view", url="https://shop.loadtest.example/coupon")
        if rng.random() < 0.5:
            add("click")
    if rng.random() < 0.15:
        add("form_submit")
    if rng.random() < PURCHASE_SHARE:
        amount = f"{rng.randint(5, 300)}.{rng.randint(0, 99):02d}"
        order = {"order_id": f"o-{uuid.uuid4().hex[:16]}", "amount": amount, "currency": "EUR"}
        add("purchase", properties=order)
    return events
