"""Stopping a service: requests in flight finish, an endless stream is cut after the grace
timeout, and the app's shutdown (closing the bus and engines) runs before the process ends."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from pulse.servers import GRACEFUL_SHUTDOWN_S, Service, SharedSignalServer, server_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _app(events: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        events.append("shutdown ran")

    app = FastAPI(lifespan=lifespan)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.5)
        events.append("slow finished")
        return {"status": "done"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def forever() -> AsyncIterator[bytes]:
            while True:
                yield b"data: tick\n\n"
                await asyncio.sleep(0.1)

        return StreamingResponse(forever(), media_type="text/event-stream")

    return app


def test_the_grace_timeout_fits_the_pods_grace_period() -> None:
    # k8s: terminationGracePeriodSeconds 30, preStop 5 s (tests/unit/test_k8s_policy.py).
    assert GRACEFUL_SHUTDOWN_S + 5 < 30


def test_stop_drains_requests_cuts_streams_and_runs_shutdown() -> None:
    events: list[str] = []
    port = _free_port()
    config = server_config(
        Service("test", _app(events), port),
        "127.0.0.1",
        "warning",
        access_log=False,
        forwarded_allow_ips="127.0.0.1",
        graceful_shutdown_s=1,
    )
    server = SharedSignalServer(config)

    async def scenario() -> tuple[int, float]:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async with client.stream("GET", "/stream") as live:
                slow = asyncio.create_task(client.get("/slow"))
                await asyncio.sleep(0.1)
                server.should_exit = True  # what SIGTERM sets
                stopping = time.monotonic()
                answer = await slow

                async def drain() -> None:
                    try:
                        async for _ in live.aiter_bytes():
                            pass
                    except httpx.HTTPError:
                        pass  # the stream is cut

                # Without the grace timeout the stream never ends: TimeoutError fails the test.
                await asyncio.wait_for(drain(), timeout=5)
        await asyncio.wait_for(serving, timeout=10)
        return answer.status_code, time.monotonic() - stopping

    status, took = asyncio.run(scenario())
    assert status == 200  # the request in flight finished
    assert took < 5  # the endless stream did not hold the stop beyond the grace timeout
    assert events == ["slow finished", "shutdown ran"]
