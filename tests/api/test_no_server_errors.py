"""Generated requests never make a service answer 5xx: bad input gets a clear 4xx, never a 500.

Schemathesis derives requests from each service's OpenAPI document (valid and invalid ones),
on the embedded default (SQLite), on Postgres, and on the full stack (Postgres, Redis, Kafka,
Elasticsearch), and sends them in-process over ASGI (`app=`); the only check is "not a server
error". It runs
the application's lifespan itself, so `app.state` is populated as in production, and its pytest
plugin ends that lifespan when each test item ends. A catalog and some events are seeded first
through the real APIs, and the hooks below point about half of the generated ids and keys at
those rows, so requests reach the found-resource code paths and not only the 404s.

The schemas are loaded at import from `app.openapi()` (no lifespan needed for that) rather than
through `schemathesis.pytest.from_fixture`, which reads `node._nodeid`, gone in pytest 9.2.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from common_messaging.bus import BusSettings, prepare_bus
from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from migrations.runner import upgrade
from tests.e2e.flow import create_catalog, sample_batch, wait_for_metrics
from tests.engines import engine_url, scratch_postgres_database

ADMIN = {"Authorization": "Bearer no-5xx-admin"}
READER = {"Authorization": "Bearer no-5xx-reader"}
BOUNDED = settings(
    max_examples=15,
    deadline=None,
    database=None,  # no example database written under .hypothesis/
    derandomize=True,  # the same cases every run: a red build is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Per service: field names as the OpenAPI documents spell them -> ids and keys that exist.
# core gets a catalog of its own: its requests change and delete rows, which must not change
# what the entry and dashboard requests find (the metrics window follows the campaign dates).
SEEDED: dict[str, dict[str, str]] = {}


@dataclass(frozen=True)
class Apps:
    core: FastAPI
    entry: FastAPI
    dashboard: FastAPI


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.integration),
        pytest.param("full", marks=pytest.mark.integration),
    ],
)
def apps(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Apps]:
    # Module-scoped, so it runs before the function-scoped `_clean_env`: clear PULSE_* here.
    with pytest.MonkeyPatch.context() as env, ExitStack() as scratch:
        for name in list(os.environ):
            if name.startswith("PULSE_"):
                env.delenv(name)
        data_dir: Path = tmp_path_factory.mktemp("no-server-errors")
        database_url = (
            f"sqlite:///{data_dir / 'pulse.sqlite3'}"
            if request.param == "sqlite"
            else scratch.enter_context(scratch_postgres_database())
        )
        upgrade(database_url)
        common: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
        if request.param == "full":
            common |= scratch.enter_context(_full_stack_engines())
        SEEDED.update(_seed(common))
        yield Apps(*_create_apps(common))
        SEEDED.clear()


@contextmanager
def _full_stack_engines() -> Iterator[dict[str, Any]]:
    """Settings for Redis, Kafka and Elasticsearch under names of this run; removed after."""
    run = uuid.uuid4().hex[:8]
    engines: dict[str, Any] = {
        "redis_url": engine_url("redis"),
        "kafka_bootstrap_servers": engine_url("kafka"),
        "kafka_topic_prefix": f"no5xx-{run}.",
        "elasticsearch_url": engine_url("elasticsearch"),
        "elasticsearch_index_prefix": f"pulse-no5xx-{run}",
    }
    prepare_bus(
        BusSettings(
            kafka_bootstrap_servers=engines["kafka_bootstrap_servers"],
            kafka_topic_prefix=engines["kafka_topic_prefix"],
        )
    )
    try:
        yield engines
    finally:
        es = Elasticsearch(engines["elasticsearch_url"])
        try:
            # Names, not a wildcard: deleting by wildcard is refused (destructive_requires_name).
            prefix = engines["elasticsearch_index_prefix"]
            for index in es.indices.get(index=f"{prefix}-*", allow_no_indices=True):
                es.indices.delete(index=index)
            es.options(ignore_status=404).indices.delete_index_template(name=prefix)
        finally:
            es.close()


def _create_apps(common: dict[str, Any]) -> tuple[FastAPI, FastAPI, FastAPI]:
    return (
        create_core(
            CoreSettings(
                admin_token=SecretStr(_token(ADMIN)), consumer_poll_timeout_s=0.1, **common
            )
        ),
        create_entry(EntrySettings(**common)),
        create_dashboard(DashboardSettings(dashboard_token=SecretStr(_token(READER)), **common)),
    )


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _seed(common: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Sites, campaigns, activities, definitions and counted events, through the real APIs.

    Apps of their own, whose lifespans end here, before Schemathesis starts the tested ones'.
    """
    with ExitStack() as stack:
        core, entry, dashboard = (
            stack.enter_context(TestClient(app)) for app in _create_apps(common)
        )
        catalogs = [create_catalog(core, ADMIN) for _ in range(2)]
        assert entry.post("/v1/events", json=sample_batch(catalogs[1])).status_code == 202
        wait_for_metrics(dashboard, READER, catalogs[1].campaign_id, visits=5, timeout_s=10)
        sites = core.get("/v1/sites", headers=ADMIN).json()["items"]
    site_ids = {site["site_key"]: site["id"] for site in sites}
    mutable, read_only = (
        {
            "site_id": site_ids[catalog.site_key],
            "site_key": catalog.site_key,
            "campaign_id": catalog.campaign_id,
            "activity_id": catalog.activities[0],
            "definition_id": next(iter(catalog.definitions.values())),
        }
        for catalog in catalogs
    )
    return {"core": mutable, "entry": read_only, "dashboard": read_only}


def _aim(value: Any, seeded: dict[str, str]) -> Any:
    """`value` with every field named like a seeded one set to the seeded id or key."""
    if isinstance(value, dict):
        return {
            key: seeded[key] if key in seeded else _aim(item, seeded) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_aim(item, seeded) for item in value]
    return value


def _schema(app: FastAPI, service: str) -> BaseSchema:
    """The service's OpenAPI document; `create_app` reads nothing until its lifespan starts."""
    schema = schemathesis.openapi.from_dict(app.openapi())

    def sometimes_seeded(_: Any, value: Any) -> st.SearchStrategy[Any]:
        # Shrinks towards the generated value; the other half hits existing rows.
        return st.sampled_from([value, _aim(value, SEEDED[service])])

    for part in ("path_parameters", "query", "body"):
        schema.hook(f"flatmap_{part}")(sometimes_seeded)
    return schema


core = _schema(create_core(CoreSettings.model_construct()), "core")
entry = _schema(create_entry(EntrySettings.model_construct()), "entry")
dashboard = _schema(create_dashboard(DashboardSettings.model_construct()), "dashboard")


@BOUNDED
@core.parametrize()
def test_core_admin_api_never_answers_5xx(case: schemathesis.Case[Any], apps: Apps) -> None:
    case.call_and_validate(app=apps.core, headers=ADMIN, checks=[not_a_server_error])


@BOUNDED
@entry.parametrize()
def test_entry_api_never_answers_5xx(case: schemathesis.Case[Any], apps: Apps) -> None:
    case.call_and_validate(app=apps.entry, checks=[not_a_server_error])


@BOUNDED
@dashboard.parametrize()
def test_dashboard_api_never_answers_5xx(case: schemathesis.Case[Any], apps: Apps) -> None:
    case.call_and_validate(app=apps.dashboard, headers=READER, checks=[not_a_server_error])


# Requests the fuzzing once answered with 5xx (or, for the last, a 90 MB body after 11 s);
# each is reproduced exactly and must now get a clear 422.
KNOWN_5XX = [
    pytest.param(
        "core",
        "POST",
        "/v1/campaigns/{campaign_id}/activities",
        {"json": {"name": "x", "type": "fcfs", "capacity": 1, "per_user_limit": 2**63}},
        id="activity-per_user_limit-2**63",
    ),
    pytest.param(
        "core",
        "POST",
        "/v1/campaigns/{campaign_id}/activities",
        {"json": {"name": "x", "type": "fcfs", "capacity": 2**63}},
        id="activity-capacity-2**63",
    ),
    pytest.param(
        "core",
        "PATCH",
        "/v1/activities/{activity_id}",
        {"json": {"capacity": 2**63}},
        id="patch-activity-capacity-2**63",
    ),
    pytest.param(
        "dashboard",
        "GET",
        "/v1/campaigns/{campaign_id}/metrics",
        {"params": {"from": "0001-01-01T00:00:00+14:00"}},
        id="metrics-from-before-year-1-in-utc",
    ),
    pytest.param(
        "dashboard",
        "GET",
        "/v1/campaigns/{campaign_id}/metrics",
        {"params": {"from": "2020-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-14:00"}},
        id="metrics-to-after-year-9999-in-utc",
    ),
    pytest.param(
        "dashboard",
        "GET",
        "/v1/campaigns/{campaign_id}/metrics",
        {"params": {"from": "0353-05-17T20:18:58Z", "to": "3622-04-09T13:14:16Z"}},
        id="metrics-range-of-three-millennia",
    ),
]


@pytest.mark.parametrize(("service", "method", "path", "request_kwargs"), KNOWN_5XX)
def test_inputs_that_once_caused_5xx_get_a_clear_422(
    apps: Apps, service: str, method: str, path: str, request_kwargs: dict[str, Any]
) -> None:
    headers = {"core": ADMIN, "dashboard": READER}.get(service, {})
    with TestClient(getattr(apps, service), raise_server_exceptions=False) as client:
        response = client.request(
            method, path.format(**SEEDED[service]), headers=headers, **request_kwargs
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"invalid_input", "invalid_range"}
