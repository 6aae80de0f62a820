"""Context for the dashboard benchmark: `GET /v1/campaigns/{id}/metrics` of the real app.

The dashboard app runs in uvicorn on a loopback port in a thread, with the benchmark's campaign
and activities in a scratch SQLite catalog and the scratch Elasticsearch prefix as its store;
httpx asks for the same 24-hour view the store-level timings use, over one kept-alive connection.
"""

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr

from benchmarks.dashboard.data import Campaign
from benchmarks.dashboard.money_load import seed_catalog
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings
from migrations.runner import upgrade

TOKEN = "bench-dashboard-token"


def _seed(url: str, c: Campaign) -> None:
    upgrade(url)
    seed_catalog(url, c)


@contextmanager
def _serving(settings: DashboardSettings) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def time_endpoint(es_url: str, prefix: str, c: Campaign, runs: int, warmup: int) -> list[float]:
    """Milliseconds per request, after `warmup` untimed ones; every answer must be a 200."""
    with tempfile.TemporaryDirectory(prefix="pulse-benchdash-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'catalog.sqlite3'}"
        _seed(url, c)
        settings = DashboardSettings(
            database_url=url,
            elasticsearch_url=es_url,
            elasticsearch_index_prefix=prefix,
            dashboard_token=SecretStr(TOKEN),
            data_dir=Path(tmp),
        )
        params = {"from": c.start.isoformat(), "to": c.end.isoformat()}
        ms: list[float] = []
        with _serving(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
            path = f"/v1/campaigns/{c.campaign_id}/metrics"
            headers = {"Authorization": f"Bearer {TOKEN}"}
            for i in range(warmup + runs):
                started = time.perf_counter()
                response = client.get(path, params=params, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
                if i >= warmup:
                    ms.append(elapsed)
        return ms
