"""GET /v1/campaigns/{id}/stream over a real HTTP server: server-sent metrics that follow new
events, a bounded number of streams, and a slot given back when the client goes away.

An in-process ASGI client would wait for the end of an endless body, so the app runs in uvicorn
on a loopback port in a thread, and httpx reads the stream as a browser's EventSource would.
"""

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.orm import Session

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import DeviceInfo, DeviceType, EventOccurred, EventType
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings
from datastore.schema import Activity, Campaign, Site
from servicekit.database import Database

AUTH = {"Authorization": "Bearer t"}
START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


@dataclass
class Server:
    url: str
    app: FastAPI


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    # Bound to port 0 here and handed to uvicorn still open: no window for another process.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def settings(database_url: str, **extra: Any) -> DashboardSettings:
    return DashboardSettings(
        database_url=database_url,
        dashboard_token=SecretStr("t"),
        dashboard_stream_interval_s=0.1,
        dashboard_max_streams=2,
        **extra,
    )


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    app = create_app(settings(database_url))
    with serving(app) as url:
        yield Server(url, app)


@dataclass
class Shop:
    site: uuid.UUID
    campaign: uuid.UUID
    activity: uuid.UUID


@pytest.fixture
def shop(database: Database) -> Shop:
    stamps = {"created_at": START, "updated_at": START}
    with Session(database.engine) as session, session.begin():
        site = Site(id=uuid.uuid4(), name="Shop", site_key=uuid.uuid4().hex, **stamps)
        session.add(site)
        session.flush()
        campaign = Campaign(
            id=uuid.uuid4(), site_id=site.id, name="Live", starts_at=START, **stamps
        )
        session.add(campaign)
        session.flush()
        activity = Activity(
            id=uuid.uuid4(), campaign_id=campaign.id, name="a", type="fcfs", **stamps
        )
        session.add(activity)
        ids = Shop(site.id, campaign.id, activity.id)
    return ids


def visit(shop: Shop, visitor: str, kind: EventType = EventType.PAGE_VIEW) -> EventOccurred:
    now = datetime.now(UTC)
    return EventOccurred(
        event_id=uuid.uuid4(),
        site_id=shop.site,
        campaign_id=shop.campaign,
        activity_id=shop.activity,
        name="view",
        type=kind,
        occurred_at=now - timedelta(seconds=5),
        received_at=now,
        anonymous_id=visitor,
        device=DeviceInfo(device_type=DeviceType.MOBILE),
        is_new_user=True,
    )


def events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) of each server-sent event, as EventSource parses them."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif line == "" and data:
            yield name, json.loads(data)
            name, data = "message", ""


def stream_url(server: Server, shop: Shop, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{server.url}/v1/campaigns/{shop.campaign}/stream?{query}"


def test_first_event_is_the_view_then_new_events_push_an_update(
    server: Server, shop: Shop, database: Database
) -> None:
    index = SqlAnalyticsIndex(database)
    index.index([visit(shop, "v1"), visit(shop, "v1", EventType.CLICK)])
    with httpx.stream("GET", stream_url(server, shop), headers=AUTH, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        updates = events(response)
        name, first = next(updates)
        assert name == "metrics"
        assert (first["totals"]["visits"], first["totals"]["clicks"]) == (1, 1)
        assert first["campaign"]["id"] == str(shop.campaign)
        assert first["range"]["from"] == START.isoformat().replace("+00:00", "Z")

        index.index([visit(shop, "v2")])
        deadline = time.monotonic() + 10
        for _, update in updates:
            if update["totals"]["visits"] == 2:
                break
            assert time.monotonic() < deadline, f"no update: {update['totals']}"
        assert update["totals"]["unique_visitors"] == 2


def test_filters_apply_to_the_stream(server: Server, shop: Shop, database: Database) -> None:
    SqlAnalyticsIndex(database).index([visit(shop, "v1")])
    url = stream_url(server, shop, device_type="desktop")
    with httpx.stream("GET", url, headers=AUTH, timeout=10) as response:
        _, first = next(events(response))
    assert first["totals"]["visits"] == 0


def test_streams_are_bounded_and_a_closed_one_frees_its_slot(server: Server, shop: Shop) -> None:
    url = stream_url(server, shop)
    with httpx.Client(headers=AUTH, timeout=10) as client:
        with client.stream("GET", url) as one, client.stream("GET", url) as two:
            assert (one.status_code, two.status_code) == (200, 200)
            third = client.get(url)
            assert third.status_code == 503
            assert third.json()["error"]["code"] == "too_many_streams"
            assert third.headers["retry-after"] == "5"
        # Both clients left: the server notices and gives the slots back.
        deadline = time.monotonic() + 10
        while server.app.state.ports.stream_slots.active:
            assert time.monotonic() < deadline, "stream slots were not released"
            time.sleep(0.05)
        with client.stream("GET", url) as again:
            assert again.status_code == 200


def test_a_stream_ends_after_its_lifetime(database_url: str, shop: Shop) -> None:
    app = create_app(settings(database_url, dashboard_stream_max_s=0.5))
    with serving(app) as url:
        started = time.monotonic()
        # Generous bounds for a loaded machine: a stream that never ended would hit the timeout.
        stream = f"{url}/v1/campaigns/{shop.campaign}/stream"
        with httpx.stream("GET", stream, headers=AUTH, timeout=30) as r:
            body = r.read().decode()
        assert time.monotonic() - started < 25
        assert body.startswith("retry: 2000\n\n") and body.count("event: metrics") >= 1
        assert app.state.ports.stream_slots.active == 0


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/campaigns/{campaign}/stream", {}, 401),
        ("/v1/campaigns/{other}/stream", AUTH, 404),
        ("/v1/campaigns/{campaign}/stream?device_type=fridge", AUTH, 422),
    ],
)
def test_refusals_come_before_the_stream(
    server: Server, shop: Shop, path: str, headers: dict[str, str], status: int
) -> None:
    url = server.url + path.format(campaign=shop.campaign, other=uuid.uuid4())
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert server.app.state.ports.stream_slots.active == 0


def test_the_session_cookie_opens_the_stream(server: Server, shop: Shop) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        assert browser.post("/v1/session", json={"token": "t"}).status_code == 200
        with browser.stream("GET", f"/v1/campaigns/{shop.campaign}/stream") as response:
            assert response.status_code == 200
            assert next(events(response))[0] == "metrics"
