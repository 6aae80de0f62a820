"""Behind a trusted proxy the client address is the shopper's (X-Forwarded-For), not the proxy's.

The per-IP entry limit keys on `request.client.host`; this runs the real uvicorn configuration
`pulse` serves with, on a loopback port, with an app that echoes the address it sees.
"""

import asyncio
import socket

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from pulse.servers import Service, server_config
from servicekit.settings import CommonSettings


def _echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> dict[str, str | None]:
        return {"client": request.client.host if request.client else None}

    return app


async def _seen(trusted: str, headers: dict[str, str]) -> str:
    # Bound to port 0 and handed over open: no other process can take the port meanwhile.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    service = Service("echo", _echo_app(), listener.getsockname()[1])
    config = server_config(
        service, "127.0.0.1", "warning", access_log=False, forwarded_allow_ips=trusted
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not server.started:
            assert not task.done(), "uvicorn stopped before it started"
            assert asyncio.get_running_loop().time() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{service.port}/who", headers=headers)
        return str(answer.json()["client"])
    finally:
        server.should_exit = True
        await task
        listener.close()


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        # The nearest hop not trusted is the client: what it put left of itself may be forged.
        ("127.0.0.1", "10.1.2.3"),
        ("127.0.0.1, 10.0.0.0/8", "203.0.113.9"),  # the shopper behind two trusted proxies
        ("192.168.0.0/16", "127.0.0.1"),  # a peer not listed cannot claim another address
        ("*", "203.0.113.9"),
        ("", "127.0.0.1"),  # the default: nobody may choose the client's address
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(trusted: str, expected: str) -> None:
    # The shopper 203.0.113.9, then a proxy 10.1.2.3, then the peer on loopback.
    forwarded = {"X-Forwarded-For": "203.0.113.9, 10.1.2.3"}
    assert asyncio.run(_seen(trusted, forwarded)) == expected


def test_without_a_proxy_header_the_peer_is_the_client() -> None:
    assert asyncio.run(_seen("*", {})) == "127.0.0.1"


def test_by_default_no_peer_is_trusted() -> None:
    assert CommonSettings().forwarded_allow_ips == ""
