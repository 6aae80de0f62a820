"""Each service's /metrics after real traffic: the operations metrics are there, with sane values.

All three services in one process on the embedded engines (the consumer stores the events);
the registry is process-wide, so every figure is compared with a scrape taken before.
"""

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from tests.e2e.flow import create_catalog, sample_batch, wait_for_metrics

ADMIN = {"Authorization": "Bearer admin-secret"}
READER = {"Authorization": "Bearer dash-secret"}
UUID_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def clients(data_dir: Path, database_url: str) -> Iterator[tuple[TestClient, ...]]:
    common = {"data_dir": data_dir, "database_url": database_url}
    apps = (
        create_core(CoreSettings(admin_token=SecretStr("admin-secret"), **common)),
        create_entry(EntrySettings(entry_rate_limit_per_user=2, **common)),
        create_dashboard(DashboardSettings(dashboard_token=SecretStr("dash-secret"), **common)),
    )
    with ExitStack() as stack:
        yield tuple(stack.enter_context(TestClient(app)) for app in apps)


def _enter(entry: TestClient, activity_id: str, user: str) -> dict[str, str]:
    response = entry.post(
        f"/v1/activities/{activity_id}/entries",
        json={"user_id": user},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code in (202, 429), response.text
    body: dict[str, str] = response.json()
    return body


def test_metrics_after_real_traffic(clients: tuple[TestClient, ...]) -> None:
    core, entry, dashboard = clients
    before = scrape(entry)
    catalog = create_catalog(core, ADMIN)
    core.patch(f"/v1/activities/{catalog.activities[1]}", headers=ADMIN, json={"capacity": 1})
    demo = core.post(
        "/v1/sites", headers=ADMIN, json={"name": "Demo", "allowed_origins": ["*"], "demo": True}
    ).json()
    campaign = core.post(
        "/v1/campaigns", headers=ADMIN, json={"site_id": demo["id"], "name": "Opening"}
    ).json()
    activity = core.post(
        f"/v1/campaigns/{campaign['id']}/activities",
        headers=ADMIN,
        json={"name": "First one", "type": "fcfs", "capacity": 1},
    ).json()

    # Events: 8 good in one batch, one bad among good in another, one batch for no site.
    batch = sample_batch(catalog)
    assert entry.post("/v1/events", json=batch).json() == {"accepted": 8, "rejected": []}
    mixed = sample_batch(catalog)
    mixed["events"][0]["type"] = "teleport"
    assert entry.post("/v1/events", json=mixed).json()["accepted"] == 7
    unknown = {"site_key": "nope", "events": batch["events"][:1]}
    assert entry.post("/v1/events", json=unknown).status_code == 404

    # Entries: the only seat, then sold out, then a user over the per-user limit.
    answers = [_enter(entry, activity["id"], user) for user in ("ann", "bob", "bob", "bob")]
    assert answers[0]["status"] in ("confirmed", "reserved")
    assert answers[1] == answers[1] | {"status": "rejected", "reason": "sold_out"}
    assert answers[3]["error"]["code"] == "rate_limited"  # type: ignore[index]

    wait_for_metrics(dashboard, READER, catalog.campaign_id, 9, timeout_s=15)
    assert entry.get("/readyz").status_code == 200
    after = scrape(entry)

    # HTTP by route template, status and method; the histogram counts what the counter does.
    events_route = {"service": "entry", "route": "/v1/events", "method": "POST"}
    assert grew(before, after, "pulse_http_requests_total", status="202", **events_route) == 2
    assert grew(before, after, "pulse_http_requests_total", status="404", **events_route) == 1
    assert grew(before, after, "pulse_http_request_duration_seconds_count", **events_route) == 3
    entries_route = "/v1/activities/{activity_id}/entries"
    assert grew(before, after, "pulse_http_requests_total", route=entries_route) == 4
    latency = grew(before, after, "pulse_http_request_duration_seconds_sum", **events_route)
    assert 0 < latency < 30
    assert (
        value(
            after,
            "pulse_http_requests_total",
            service="dashboard",
            route="/v1/campaigns/{campaign_id}/metrics",
            status="200",
        )
        >= 1
    )

    # Events accepted and rejected by reason; whole batches refused by code.
    assert grew(before, after, "pulse_events_accepted_total") == 15
    assert grew(before, after, "pulse_events_rejected_total", reason="invalid_event") == 1
    assert grew(before, after, "pulse_event_batches_refused_total", reason="site_not_found") == 1

    # Entry decisions by outcome and reason; the rate limit's refusal.
    first = answers[0]["status"]
    assert grew(before, after, "pulse_entry_decisions_total", outcome=first, reason="none") == 1
    assert (
        grew(before, after, "pulse_entry_decisions_total", outcome="rejected", reason="sold_out")
        == 2
    )
    assert (
        grew(before, after, "pulse_entry_decisions_total", outcome="refused", reason="rate_limited")
        == 1
    )
    assert grew(before, after, "pulse_rate_limit_refusals_total", scope="ip_and_user") == 1

    # The consumer: batches stored, both stores' write latency, messages stored.
    assert grew(before, after, "pulse_consumer_batches_total", outcome="stored") >= 1
    for store in ("database", "analytics_index"):
        writes = grew(before, after, "pulse_store_write_duration_seconds_count", store=store)
        assert writes >= 1, store
    assert grew(before, after, "pulse_consumer_messages_total", outcome="stored") >= 15

    # Readiness sets engine reachability.
    assert value(after, "pulse_engine_up", service="entry", engine="database") == 1

    # Bounded labels: no id, site key or URL in any label of Pulse's metrics.
    for (name, labels), _ in after.items():
        if name.startswith("pulse_"):
            for key, label in labels:
                assert not UUID_LIKE.search(label), (name, key, label)
                assert catalog.site_key not in label and "://" not in label, (name, key)
    assert value(after, "pulse_http_requests_total", route="unmatched") >= 0


def test_unmatched_paths_share_one_route_label(clients: tuple[TestClient, ...]) -> None:
    _, entry, _ = clients
    before = scrape(entry)
    for n in range(3):
        assert entry.get(f"/no/such/path/{n}").status_code == 404
    after = scrape(entry)
    assert grew(before, after, "pulse_http_requests_total", route="unmatched", status="404") == 3
    assert not any("/no/such" in dict(ls).get("route", "") for (_, ls) in after)


def test_dead_letters_are_counted_by_reason(clients: tuple[TestClient, ...]) -> None:
    """A message that does not decode goes to the dead-letter topic and is counted there."""
    core, entry, _ = clients
    from common_messaging import EVENTS_RAW, OutgoingMessage
    from common_messaging.bus import open_publisher

    before = scrape(core)
    settings = CoreSettings()
    publisher = open_publisher(settings.bus)
    publisher.publish_sync(EVENTS_RAW, [OutgoingMessage(value=b"not a message", key=b"k")])
    publisher.close()
    deadline = time.monotonic() + 15
    while True:
        after = scrape(core)
        if grew(before, after, "pulse_consumer_dead_lettered_total", reason="decode_error"):
            break
        assert time.monotonic() < deadline, "the poison message was never dead-lettered"
        time.sleep(0.2)
    assert grew(before, after, "pulse_consumer_dead_lettered_total", reason="decode_error") == 1
