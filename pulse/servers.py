"""Run several ASGI apps in one event loop, each on its own port, stopped together."""

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Generator, Sequence
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app: FastAPI
    port: int


class SharedSignalServer(uvicorn.Server):
    """Signals are handled once for all servers (uvicorn would let the last one win)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


# On SIGTERM uvicorn stops accepting and waits for the requests in flight; a live-update stream
# (up to PULSE_DASHBOARD_STREAM_MAX_S) would keep it waiting until Kubernetes' SIGKILL, and the
# app's shutdown (closing the bus and the engines) would never run. After this many seconds the
# remaining requests are cut: under the pods' 30 s grace period minus the 5 s preStop pause.
GRACEFUL_SHUTDOWN_S = 20


def server_config(
    service: Service,
    host: str,
    log_level: str,
    *,
    access_log: bool,
    forwarded_allow_ips: str,
    graceful_shutdown_s: int = GRACEFUL_SHUTDOWN_S,
) -> uvicorn.Config:
    return uvicorn.Config(
        service.app,
        host=host,
        port=service.port,
        log_level=log_level.lower(),
        # uvicorn's loggers go through the root handler (servicekit.logs: JSON or text).
        log_config=None,
        access_log=access_log,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )


async def serve(
    services: Sequence[Service],
    host: str,
    log_level: str,
    extra: Sequence[Awaitable[None]] = (),
    *,
    access_log: bool = True,
    forwarded_allow_ips: str = "",
) -> None:
    servers = [
        SharedSignalServer(
            server_config(
                s, host, log_level, access_log=access_log, forwarded_allow_ips=forwarded_allow_ips
            )
        )
        for s in services
    ]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    helpers = [asyncio.ensure_future(aw) for aw in extra]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        # One server ending (e.g. its port was taken) ends them all.
        stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
