"""A steady load of events posted to entry_service, as a snippet would send them, recording
which event ids were acknowledged (answered 202): the ones Pulse promised to keep."""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0"


@dataclass
class Load:
    acknowledged: set[str] = field(default_factory=set)
    refused_batches: int = 0  # answered with a non-202 (e.g. 503 while Kafka could not ack)
    transport_errors: int = 0
    marks: list[str] = field(default_factory=list)


def _batch(site_key: str, size: int, n: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "page_view",
            "name": "Page Viewed",
            "occurred_at": now,
            "anonymous_id": f"visitor-{(n * size + i) % 50}",
            "url": f"https://shop.example/p/{i}",
            "user_agent": UA,
        }
        for i in range(size)
    ]
    return {"site_key": site_key, "events": events}


async def steady_load(
    entry_urls: Sequence[str],
    site_key: str,
    *,
    batches: int,
    batch_size: int,
    interval_s: float,
    during: Callable[[Load, int], None] | None = None,
) -> Load:
    """`batches` posts of `batch_size` events, one every `interval_s` (not waiting for the
    answers), each retried with the same event ids while the answer is not a 202 (as the
    snippet does); `during(load, n)` runs after the n-th post is sent, for the fault."""
    load = Load()
    clients = [httpx.AsyncClient(base_url=u, timeout=30) for u in entry_urls]

    async def post(n: int, body: dict[str, Any]) -> None:
        for attempt in range(8):
            try:
                response = await clients[n % len(clients)].post("/v1/events", json=body)
            except httpx.TransportError:
                load.transport_errors += 1
            else:
                if response.status_code == 202:
                    answer = response.json()
                    rejected = {r.get("event_id") for r in answer.get("rejected", [])}
                    assert not rejected, answer
                    load.acknowledged.update(e["event_id"] for e in body["events"])
                    return
                load.refused_batches += 1
            await asyncio.sleep(min(0.25 * 2**attempt, 4))

    tasks: list[asyncio.Task[None]] = []
    try:
        for n in range(batches):
            tasks.append(asyncio.create_task(post(n, _batch(site_key, batch_size, n))))
            if during is not None:
                await asyncio.to_thread(during, load, n)
            await asyncio.sleep(interval_s)
        await asyncio.gather(*tasks)
    finally:
        # On a failure the other posts are stopped and awaited before their connections close.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            await client.aclose()
    return load
