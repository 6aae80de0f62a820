"""Generated requests never make a service answer 5xx: bad input gets a clear 4xx, never a 500.

Schemathesis derives requests from each service's OpenAPI document (valid and invalid ones)
and sends them in-process over ASGI; the only check is "not a server error". Schemathesis runs
the application's lifespan itself (and ends it when the test ends), so `app.state` is populated
as in production. A catalog and some events are seeded first through the real APIs, and the
hooks below point about half of the generated ids and keys at those rows, so requests reach
the found-resource code paths and not only the 404s.
"""

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from migrations.runner import upgrade
from tests.e2e.flow import create_catalog, sample_batch, wait_for_metrics

ADMIN = {"Authorization": "Bearer no-5xx-admin"}
READER = {"Authorization": "Bearer no-5xx-reader"}
CHECKS = [not_a_server_error]
BOUNDED = settings(
    max_examples=15,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Field names as the OpenAPI documents spell them -> ids and keys that exist (see `apps`).
SEEDED: dict[str, str] = {}


@dataclass(frozen=True)
class Apps:
    core: FastAPI
    entry: FastAPI
    dashboard: FastAPI


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    # Module-scoped, so it runs before the function-scoped `_clean_env`: clear PULSE_* here.
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("PULSE_"):
                env.delenv(name)
        data_dir: Path = tmp_path_factory.mktemp("no-server-errors")
        database_url = f"sqlite:///{data_dir / 'pulse.sqlite3'}"
        upgrade(database_url)
        common: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
        SEEDED.update(_seed(common))
        yield Apps(*_create_apps(common))
        SEEDED.clear()


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


def _seed(common: dict[str, Any]) -> dict[str, str]:
    """A site, campaign, activities, definitions and counted events, through the real APIs.

    Apps of their own, whose lifespans end here, before Schemathesis starts the tested ones'.
    """
    with ExitStack() as stack:
        core, entry, dashboard = (
            stack.enter_context(TestClient(app)) for app in _create_apps(common)
        )
        catalog = create_catalog(core, ADMIN)
        assert entry.post("/v1/events", json=sample_batch(catalog)).status_code == 202
        wait_for_metrics(dashboard, READER, catalog.campaign_id, visits=5, timeout_s=10)
        site_id = core.get("/v1/sites", headers=ADMIN).json()["items"][0]["id"]
    return {
        "site_id": site_id,
        "site_key": catalog.site_key,
        "campaign_id": catalog.campaign_id,
        "activity_id": catalog.activities[0],
        "definition_id": next(iter(catalog.definitions.values())),
    }


def _aim(value: Any) -> Any:
    """`value` with every field named like a seeded one set to the seeded id or key."""
    if isinstance(value, dict):
        return {key: SEEDED[key] if key in SEEDED else _aim(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_aim(item) for item in value]
    return value


def _sometimes_seeded(_: Any, value: Any) -> st.SearchStrategy[Any]:
    # Shrinks towards the generated value; the other half hits existing rows.
    return st.sampled_from([value, _aim(value)])


def _schema(app: FastAPI) -> BaseSchema:
    """The service's OpenAPI document; `create_app` reads nothing until its lifespan starts."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    for part in ("path_parameters", "query", "body"):
        schema.hook(f"flatmap_{part}")(_sometimes_seeded)
    return schema


core = _schema(create_core(CoreSettings.model_construct()))
entry = _schema(create_entry(EntrySettings.model_construct()))
dashboard = _schema(create_dashboard(DashboardSettings.model_construct()))


@BOUNDED
@core.parametrize()
def test_core_admin_api_never_answers_5xx(case: schemathesis.Case, apps: Apps) -> None:
    r = case.call_and_validate(app=apps.core, headers=ADMIN, checks=CHECKS)
    STATS.append(
        (
            case.operation.label,
            r.status_code,
            str(SEEDED.get("site_id")) in repr((case.path_parameters, case.query, case.body)),
        )
    )


@BOUNDED
@entry.parametrize()
def test_entry_api_never_answers_5xx(case: schemathesis.Case, apps: Apps) -> None:
    r = case.call_and_validate(app=apps.entry, checks=CHECKS)
    STATS.append(
        (
            case.operation.label,
            r.status_code,
            str(SEEDED.get("site_id")) in repr((case.path_parameters, case.query, case.body)),
        )
    )


@BOUNDED
@dashboard.parametrize()
def test_dashboard_api_never_answers_5xx(case: schemathesis.Case, apps: Apps) -> None:
    r = case.call_and_validate(app=apps.dashboard, headers=READER, checks=CHECKS)
    STATS.append(
        (
            case.operation.label,
            r.status_code,
            str(SEEDED.get("site_id")) in repr((case.path_parameters, case.query, case.body)),
        )
    )


STATS: list = []


def teardown_module() -> None:
    import collections
    import sys

    c = collections.Counter((l, s) for l, s, _ in STATS)
    for k, v in sorted(c.items()):
        sys.__stdout__.write(f"{k} {v}\n")
    sys.__stdout__.write(f"total {len(STATS)} aimed-site {sum(a for *_, a in STATS)}\n")
