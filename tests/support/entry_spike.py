"""An entry spike against entry_service processes, as shoppers send it: every attempt at once
(bounded in flight), a fault injected as the answers come in, then every entry id answered
followed through GET until it is final."""

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from tests.support.entries import token
from tests.support.shopper_retry import Retry, enter_as_shopper


@dataclass
class Spike:
    answers: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0  # dropped connections, tried again
    shed: int = 0  # 503 with Retry-After, tried again after it
    marks: list[str] = field(default_factory=list)

    def count_retry(self, kind: Retry) -> None:
        if kind == "shed":
            self.shed += 1
        else:
            self.retries += 1


async def entry_spike(
    entry_urls: Sequence[str],
    activity: uuid.UUID,
    users: Sequence[str],
    fault: Callable[[Spike, int], None] | None = None,
    *,
    in_flight: int = 100,
) -> Spike:
    """One attempt per item of `users` (a user listed twice tries twice), each with its own
    Idempotency-Key, retried with that key on a dropped connection; `fault(spike, done)` runs
    in a thread as answers come in. Every attempt must be answered 202 with an entry id."""
    tokens = {u: token(u, ttl=timedelta(minutes=30)) for u in set(users)}
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=60) for u in entry_urls]
    spike = Spike()
    gate = asyncio.Semaphore(in_flight)
    done = 0

    async def one(i: int, user: str) -> dict[str, Any]:
        nonlocal done
        key = str(uuid.uuid4())
        async with gate:
            response = await enter_as_shopper(
                clients[i % len(clients)], activity, tokens[user], key, spike.count_retry
            )
        done += 1
        if fault is not None:
            await asyncio.to_thread(fault, spike, done)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    tasks = [asyncio.create_task(one(i, u)) for i, u in enumerate(users)]
    try:
        spike.answers = list(await asyncio.gather(*tasks))
    finally:
        # A failed attempt ends the spike: the others are stopped and awaited before their
        # connections close, so none is left open behind the test.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            await client.aclose()
    return spike


async def resolve(
    entry_urls: Sequence[str], answers: Sequence[dict[str, Any]], within_s: float
) -> dict[str, dict[str, Any]]:
    """GET every entry id until it is final: never a 404, never a change of a final answer."""
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + within_s
    gets = asyncio.Semaphore(64)
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in entry_urls]
    try:

        async def one(n: int, posted: dict[str, Any]) -> None:
            entry_id = posted["entry_id"]
            while True:
                async with gets:
                    response = await clients[n % len(clients)].get(f"/v1/entries/{entry_id}")
                assert response.status_code == 200, (posted, response.text)
                state = response.json()
                if posted["status"] != "reserved":  # a final answer never changes
                    assert (state["status"], state.get("reason")) == (
                        posted["status"],
                        posted.get("reason"),
                    ), (posted, state)
                if state["status"] != "reserved":
                    final[entry_id] = state
                    return
                assert time.monotonic() < deadline, f"still reserved: {posted}"
                await asyncio.sleep(0.2)

        tasks = [asyncio.create_task(one(n, a)) for n, a in enumerate(answers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for client in clients:
            await client.aclose()
    assert len(final) == len(answers), "two answers carried the same entry id"
    return final
