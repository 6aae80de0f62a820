"""A shopper's page sending an entry request as the snippet does (snippet/src/entries.js): the
same Idempotency-Key on every try, retried on a dropped connection and on a 503 with
Retry-After (a worker shedding a spike, or the bus briefly down), after at least that long."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal

import httpx

TRIES = 6
Retry = Literal["dropped", "shed"]


async def send_as_shopper(
    send: Callable[[], Awaitable[httpx.Response]],
    on_retry: Callable[[Retry], object] | None = None,
) -> httpx.Response:
    """`send()` until it is answered other than a 503 with Retry-After, or `TRIES` times; the
    last answer (a dropped last try raises)."""
    for attempt in range(TRIES):
        backoff = 0.2 * 2**attempt
        try:
            response = await send()
        except httpx.TransportError:
            if attempt == TRIES - 1:
                raise
            kind: Retry = "dropped"
        else:
            retry_after = response.headers.get("Retry-After")
            if response.status_code != 503 or retry_after is None or attempt == TRIES - 1:
                return response
            kind, backoff = "shed", max(backoff, float(retry_after))
        if on_retry is not None:
            on_retry(kind)
        await asyncio.sleep(backoff)
    raise AssertionError("unreachable")


async def enter_as_shopper(
    client: httpx.AsyncClient,
    activity: uuid.UUID,
    user_token: str,
    key: str,
    on_retry: Callable[[Retry], object] | None = None,
) -> httpx.Response:
    """One entry attempt of a shopper (`key` its Idempotency-Key), retried as above."""
    send = partial(
        client.post,
        f"/v1/activities/{activity}/entries",
        json={"user_token": user_token},
        headers={"Idempotency-Key": key},
    )
    return await send_as_shopper(send, on_retry)
