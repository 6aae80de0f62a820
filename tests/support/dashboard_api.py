"""The dashboard API as its tests drive it: an app signed in with token `t`, at a fixed clock."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr

from dashboard_service.api.deps import get_clock
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings

AUTH = {"Authorization": "Bearer t"}


@contextmanager
def dashboard_client(database_url: str, now: datetime) -> Iterator[TestClient]:
    app = create_app(DashboardSettings(database_url=database_url, dashboard_token=SecretStr("t")))
    app.dependency_overrides[get_clock] = lambda: lambda: now
    with TestClient(app) as test_client:
        yield test_client


def metrics(client: TestClient, campaign_id: uuid.UUID, **params: str) -> dict[str, Any]:
    response = client.get(f"/v1/campaigns/{campaign_id}/metrics", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
