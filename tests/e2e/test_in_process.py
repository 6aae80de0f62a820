"""The whole path in one process: admin API, definitions, events, bus, consumer, metrics."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from common_messaging import EVENTS_RAW
from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from datastore.engine import make_engine
from datastore.schema import EventOccurrence, Purchase, UserSummary
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from tests.e2e.flow import check_sample_metrics, create_catalog, sample_batch, wait_for_metrics
from tests.support.bus_lag import wait_until_caught_up

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": "Bearer admin-secret"}
READER = {"Authorization": "Bearer dash-secret"}


@pytest.fixture
def clients(data_dir: Path, database_url: str) -> Iterator[tuple[TestClient, ...]]:
    common = {"data_dir": data_dir, "database_url": database_url}
    apps = (
        create_core(CoreSettings(admin_token=SecretStr("admin-secret"), **common)),
        create_entry(EntrySettings(**common)),
        create_dashboard(DashboardSettings(dashboard_token=SecretStr("dash-secret"), **common)),
    )
    with ExitStack() as stack:
        yield tuple(stack.enter_context(TestClient(app)) for app in apps)


def test_campaign_path_end_to_end(
    clients: tuple[TestClient, ...], database_url: str, data_dir: Path
) -> None:
    core, entry, dashboard = clients
    catalog = create_catalog(core, ADMIN)
    definitions = entry.get(f"/v1/sites/{catalog.site_key}/definitions").json()["definitions"]
    assert {d["name"] for d in definitions} == set(catalog.definitions)

    batch = sample_batch(catalog)
    response = entry.post("/v1/events", json=batch)
    assert response.json() == {"accepted": 8, "rejected": []}
    metrics, _ = wait_for_metrics(dashboard, READER, catalog.campaign_id, 5, timeout_s=10)
    check_sample_metrics(metrics, catalog)

    # A client retry replays the same event ids: nothing is counted twice. The barrier: the
    # consumer has committed past the replay, so it was stored and indexed (or found known).
    assert entry.post("/v1/events", json=batch).status_code == 202
    wait_until_caught_up(data_dir / "bus.sqlite3", CoreSettings().consumer_group, EVENTS_RAW)
    check_sample_metrics(
        wait_for_metrics(dashboard, READER, catalog.campaign_id, 5, 10)[0], catalog
    )
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EventOccurrence)) == 8
        assert conn.scalar(select(func.count()).select_from(Purchase)) == 1
        # A browser's purchase is recorded, but only one the site vouches for moves the
        # summary's purchase facts (tests/e2e/test_trusted_facts.py).
        assert conn.scalar(select(func.sum(UserSummary.purchase_count))) == 0
    engine.dispose()


def test_admin_and_dashboard_refuse_bad_tokens(clients: tuple[TestClient, ...]) -> None:
    core, _, dashboard = clients
    assert core.get("/v1/sites").status_code == 401
    assert core.get("/v1/sites", headers=READER).status_code == 401
    response = dashboard.get(
        "/v1/campaigns/00000000-0000-0000-0000-000000000000/metrics",
        headers={"Authorization": "Bearer wrong"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_token", "unauthorized"}
