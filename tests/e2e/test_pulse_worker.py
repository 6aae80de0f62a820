"""`pulse worker` as deployed: core_service's consumers in a process of their own, with probes
and metrics, storing what the bus carries while no admin API runs."""

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from common_messaging import ENTRIES_REQUESTED, EVENTS_RAW, OutgoingMessage, encode
from common_messaging.bus import BusSettings, open_publisher
from datastore.engine import make_engine
from datastore.schema import EventOccurrence
from migrations.runner import upgrade
from servicekit.database import Database
from shop_webhooks import ENTRY_DECIDED, endpoints
from shop_webhooks.endpoints import TargetPolicy
from tests.e2e.process import PULSE, clean_env, free_ports, process, wait_ready
from tests.support.entries import add_activity, reservation, seed_shop
from tests.support.factories import message, occurrence, seed_site
from tests.support.webhook_receiver import webhook_receiver


def test_pulse_worker_consumes_the_bus_alone_and_answers_its_probes(tmp_path: Path) -> None:
    data_dir = tmp_path / "pulse-data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'pulse.sqlite3'}"
    upgrade(url)
    db = Database(make_engine(url))
    with db.unit_of_work() as session:
        site_id = seed_site(session).id
    events = [occurrence(site_id=site_id, user_id=f"u{i}") for i in range(3)]
    publisher = open_publisher(BusSettings(data_dir=data_dir))
    publisher.publish_sync(EVENTS_RAW, [message(e) for e in events])
    publisher.close()
    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    args = [PULSE, "--data-dir", str(data_dir), "worker", "--host", "127.0.0.1"]
    with process([*args, "--port", str(port)], clean_env(), tmp_path / "worker.log") as proc:
        wait_ready(base, proc, tmp_path / "worker.log")
        deadline = time.monotonic() + 30
        stored = 0
        while stored < len(events) and time.monotonic() < deadline:
            time.sleep(0.2)
            with db.reader() as session:
                stored = session.scalar(select(func.count()).select_from(EventOccurrence)) or 0
        assert stored == len(events)
        ready = httpx.get(f"{base}/readyz", timeout=5).json()
        assert ready["checks"]["consumer"] == "ok" and ready["checks"]["database"] == "ok"
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        assert "python_info" in httpx.get(f"{base}/metrics", timeout=5).text
        # The worker serves no admin API.
        assert httpx.get(f"{base}/v1/sites", timeout=5).status_code == 404
    db.dispose()


def test_pulse_worker_tells_the_shop_about_a_decided_entry(tmp_path: Path) -> None:
    """The whole chain in the deployed process: a reservation on the bus is decided, the
    decision's `entry.decided` event is written with it, and the dispatcher POSTs it, signed."""
    data_dir = tmp_path / "pulse-data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'pulse.sqlite3'}"
    upgrade(url)
    db = Database(make_engine(url))
    shop = seed_shop(db)
    activity = add_activity(db, shop.campaign_id, capacity=1)
    with webhook_receiver(["200"]) as receiver:
        with db.unit_of_work() as session:
            hook = endpoints.create(
                session,
                TargetPolicy(allow_private=True),
                datetime.now(UTC),
                site_id=shop.site_id,
                url=receiver.url,
                event_types=[ENTRY_DECIDED],
                description=None,
            )
        request = reservation(shop, activity, "user-1")
        publisher = open_publisher(BusSettings(data_dir=data_dir))
        publisher.publish_sync(
            ENTRIES_REQUESTED,
            [OutgoingMessage(value=encode(request, message_id=request.entry_id, producer="t"))],
        )
        publisher.close()
        (port,) = free_ports(1)
        env = {**clean_env(), "PULSE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"}
        args = [PULSE, "--data-dir", str(data_dir), "worker", "--host", "127.0.0.1"]
        log = tmp_path / "worker.log"
        with process([*args, "--port", str(port)], env, log) as proc:
            wait_ready(f"http://127.0.0.1:{port}", proc, log)
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
            assert ready["checks"]["webhooks"] == "ok"
            deadline = time.monotonic() + 30
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.2)
        [delivered] = receiver.requests
    document = Webhook(hook.secret).verify(delivered.body, delivered.headers)
    assert document["type"] == ENTRY_DECIDED
    assert document["data"]["entry_id"] == str(request.entry_id)
    assert document["data"]["status"] == "confirmed" and document["data"]["position"] == 1
    db.dispose()


def test_pulse_worker_refuses_several_processes_on_the_embedded_log(tmp_path: Path) -> None:
    """N consumer processes need partitions to share (Kafka); the embedded log has none."""
    args = [PULSE, "--data-dir", str(tmp_path / "data"), "worker", "--workers", "2"]
    done = subprocess.run(args, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "needs Kafka (PULSE_KAFKA_BOOTSTRAP_SERVERS)" in done.stderr
