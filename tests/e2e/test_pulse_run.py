"""`pulse run` as a newcomer runs it: a real process on real ports, stopped and started again."""

from pathlib import Path

import httpx
import pytest

from tests.e2e.flow import check_sample_metrics, create_catalog, sample_batch, wait_for_metrics
from tests.e2e.process import free_ports, pulse_run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]


def test_pulse_run_serves_the_walkthrough_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "pulse-data"
    ports = free_ports(3)
    with pulse_run(data_dir, ports) as run:
        admin = {"Authorization": f"Bearer {run['admin token']}"}
        reader = {"Authorization": f"Bearer {run['dashboard token']}"}
        with httpx.Client(base_url=run["core"]) as core:
            catalog = create_catalog(core, admin)
        with httpx.Client(base_url=run["entry"]) as entry:
            assert entry.post("/v1/events", json=sample_batch(catalog)).status_code == 202
        with httpx.Client(base_url=run["dashboard"]) as dashboard:
            metrics, _ = wait_for_metrics(dashboard, reader, catalog.campaign_id, 5, 10)
        check_sample_metrics(metrics, catalog)

    with pulse_run(data_dir, ports) as again:
        assert again["admin token"] == run["admin token"]
        with httpx.Client(base_url=again["dashboard"]) as dashboard:
            metrics, _ = wait_for_metrics(dashboard, reader, catalog.campaign_id, 5, 10)
        check_sample_metrics(metrics, catalog)
        with httpx.Client(base_url=again["core"]) as core:
            sites = core.get("/v1/sites", headers=admin).json()["items"]
        assert [s["site_key"] for s in sites] == [catalog.site_key]
