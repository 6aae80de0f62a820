"""The web UI's sign-in: a dashboard token traded for an HttpOnly session cookie, and its limits."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from dashboard_service.api.deps import SESSION_COOKIE, get_clock
from dashboard_service.main import create_app
from dashboard_service.settings import DashboardSettings

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def app_client(database_url: str, clock: Clock, **tokens: str) -> TestClient:
    settings = DashboardSettings(
        database_url=database_url,
        dashboard_session_hours=2,
        **{name: SecretStr(value) for name, value in tokens.items()},
    )
    app = create_app(settings)
    app.dependency_overrides[get_clock] = lambda: clock
    return TestClient(app)


@pytest.fixture
def client(database_url: str, clock: Clock) -> Iterator[TestClient]:
    with app_client(database_url, clock, dashboard_token="dash-t", admin_token="adm-t") as c:
        yield c


def sign_in(client: TestClient, token: str = "dash-t") -> str:
    response = client.post("/v1/session", json={"token": token})
    assert response.status_code == 200, response.text
    return response.cookies[SESSION_COOKIE]


def test_sign_in_sets_an_httponly_strict_cookie_that_is_not_the_token(client: TestClient) -> None:
    response = client.post("/v1/session", json={"token": "dash-t"})
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["expires_at"]) == NOW + timedelta(hours=2)
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "samesite=strict" in header.lower()
    assert "secure" not in attributes  # plain http (loopback); behind TLS it is set
    assert "dash-t" not in header


def test_the_cookie_opens_the_api_until_it_expires(client: TestClient, clock: Clock) -> None:
    sign_in(client)
    assert client.get("/v1/campaigns").status_code == 200
    clock.now = NOW + timedelta(hours=2)
    response = client.get("/v1/campaigns")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_session"


@pytest.mark.parametrize("token", ["adm-t", "dash-t"])
def test_admin_and_dashboard_tokens_may_sign_in(client: TestClient, token: str) -> None:
    sign_in(client, token)
    assert client.get("/v1/campaigns").status_code == 200


@pytest.mark.parametrize("body", [{"token": "nope"}, {"token": "dash-t "}, {"token": "dásh-t"}])
def test_a_wrong_token_gets_401_and_no_cookie(client: TestClient, body: dict[str, str]) -> None:
    response = client.post("/v1/session", json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert SESSION_COOKIE not in response.cookies


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "x" * 513}, {"token": "t", "x": 1}])
def test_a_malformed_sign_in_is_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/v1/session", json=body).status_code == 422


@pytest.mark.parametrize(
    "value",
    ["", "garbage", "9999999999.nonce.sig", "-1.n.s", "0x99999999.n.s", "1.2.3.4"],
)
def test_forged_cookies_are_refused(client: TestClient, value: str) -> None:
    client.cookies.set(SESSION_COOKIE, value)
    response = client.get("/v1/campaigns")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_session"


def test_a_tampered_expiry_breaks_the_signature(client: TestClient) -> None:
    value = sign_in(client)
    expires, nonce, signature = value.split(".")
    client.cookies.set(SESSION_COOKIE, f"{int(expires) + 3600}.{nonce}.{signature}")
    assert client.get("/v1/campaigns").status_code == 401


def test_replacing_the_token_ends_its_sessions(database_url: str, clock: Clock) -> None:
    with app_client(database_url, clock, dashboard_token="old") as before:
        value = sign_in(before, "old")
    with app_client(database_url, clock, dashboard_token="new") as after:
        after.cookies.set(SESSION_COOKIE, value)
        assert after.get("/v1/campaigns").status_code == 401
    with app_client(database_url, clock, dashboard_token="old") as again:
        again.cookies.set(SESSION_COOKIE, value)  # another replica with the same token: accepted
        assert again.get("/v1/campaigns").status_code == 200


def test_a_bearer_header_wins_over_the_cookie(client: TestClient) -> None:
    sign_in(client)
    response = client.get("/v1/campaigns", headers={"Authorization": "Bearer nope"})
    assert response.json()["error"]["code"] == "invalid_token"


def test_sign_out_clears_the_cookie(client: TestClient) -> None:
    sign_in(client)
    response = client.delete("/v1/session")
    assert response.status_code == 204
    assert f"{SESSION_COOKIE}=" in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert client.get(f"/v1/campaigns/{uuid.uuid4()}/metrics").status_code == 401


def test_repeated_wrong_tokens_from_one_address_are_429_until_the_window_passes(
    client: TestClient, clock: Clock
) -> None:
    wrong = [client.post("/v1/session", json={"token": f"guess-{i}"}) for i in range(10)]
    assert {r.status_code for r in wrong} == {401}
    refused = client.post("/v1/session", json={"token": "dash-t"})  # even the right one, now
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 15 * 60 + 1
    clock.now += timedelta(minutes=15, seconds=1)
    assert sign_in(client)  # the failures aged out of the window


def test_successful_sign_ins_are_never_limited(client: TestClient) -> None:
    assert all(sign_in(client) for _ in range(30))
