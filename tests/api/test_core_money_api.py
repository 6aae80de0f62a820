"""The money admin routes: reporting currency and rates, budgets, daily or total spend."""

from fastapi.testclient import TestClient

from tests.api.test_core_admin_api import client, error, make_campaign, make_site, ok

__all__ = ["client"]  # the fixture, shared with the admin API tests


def campaign(client: TestClient) -> tuple[str, str]:
    site_id = make_site(client)["id"]
    return site_id, make_campaign(client, site_id)["id"]


def test_a_site_reports_in_usd_until_told_otherwise(client: TestClient) -> None:
    site_id, _ = campaign(client)
    assert ok(client.get(f"/v1/sites/{site_id}/money")) == {
        "site_id": site_id,
        "currency": "USD",
        "rates": {},
    }
    body = ok(
        client.put(f"/v1/sites/{site_id}/money", json={"currency": "EUR", "rates": {"USD": "0.9"}})
    )
    assert body["currency"] == "EUR" and body["rates"] == {"USD": "0.9"}
    assert ok(client.get(f"/v1/sites/{site_id}/money"))["rates"] == {"USD": "0.9"}


def test_budget_and_spend_are_converted_into_the_reporting_currency(client: TestClient) -> None:
    site_id, campaign_id = campaign(client)
    ok(client.put(f"/v1/sites/{site_id}/money", json={"currency": "EUR", "rates": {"USD": "0.9"}}))
    body = ok(client.put(f"/v1/campaigns/{campaign_id}/budget", json={"amount": "1000.00"}))
    assert body["budget"] == {
        "amount": "1000.00",
        "entered_amount": "1000.00",
        "entered_currency": "EUR",
    }
    body = ok(
        client.put(
            f"/v1/campaigns/{campaign_id}/spend/2030-01-02",
            json={"amount": "100.05", "currency": "USD"},
        )
    )
    assert body["spend"][0]["period"] == "2030-01-02"
    assert body["spend"][0]["amount"] == "90.04"  # 90.045 rounded half to even
    ok(client.put(f"/v1/campaigns/{campaign_id}/spend/2030-01-03", json={"amount": "10"}))
    # A PUT replaces that day's amount rather than adding to it.
    body = ok(client.put(f"/v1/campaigns/{campaign_id}/spend/2030-01-03", json={"amount": "20"}))
    assert [s["amount"] for s in body["spend"]] == ["90.04", "20.00"]
    assert body["spend_total"] == "110.04"
    body = ok(client.delete(f"/v1/campaigns/{campaign_id}/spend/2030-01-02"))
    assert body["spend_total"] == "20.00"
    error(client.delete(f"/v1/campaigns/{campaign_id}/spend/2030-01-02"), 404, "spend_not_found")


def test_an_amount_without_a_rate_is_refused_not_added(client: TestClient) -> None:
    _, campaign_id = campaign(client)
    err = error(
        client.put(f"/v1/campaigns/{campaign_id}/budget", json={"amount": "5", "currency": "JPY"}),
        422,
        "unsupported_currency",
    )
    assert "JPY" in err["message"]
    assert ok(client.get(f"/v1/campaigns/{campaign_id}/money"))["budget"] is None


def test_spend_is_daily_or_one_total_never_both(client: TestClient) -> None:
    _, campaign_id = campaign(client)
    ok(client.put(f"/v1/campaigns/{campaign_id}/spend/total", json={"amount": "500"}))
    error(
        client.put(f"/v1/campaigns/{campaign_id}/spend/2030-01-02", json={"amount": "1"}),
        409,
        "spend_mode_conflict",
    )
    ok(client.delete(f"/v1/campaigns/{campaign_id}/spend/total"))
    ok(client.put(f"/v1/campaigns/{campaign_id}/spend/2030-01-02", json={"amount": "1"}))
    error(
        client.put(f"/v1/campaigns/{campaign_id}/spend/total", json={"amount": "1"}),
        409,
        "spend_mode_conflict",
    )


def test_the_reporting_currency_is_locked_once_amounts_are_stored(client: TestClient) -> None:
    site_id, campaign_id = campaign(client)
    ok(client.put(f"/v1/campaigns/{campaign_id}/budget", json={"amount": "5"}))
    error(
        client.put(f"/v1/sites/{site_id}/money", json={"currency": "EUR"}), 409, "currency_locked"
    )
    # Adding rates without changing the currency stays possible.
    ok(client.put(f"/v1/sites/{site_id}/money", json={"currency": "USD", "rates": {"EUR": "1.1"}}))


def test_bad_money_input_gets_a_clear_422(client: TestClient) -> None:
    site_id, campaign_id = campaign(client)
    error(
        client.put(f"/v1/campaigns/{campaign_id}/budget", json={"amount": "-1"}),
        422,
        "invalid_input",
    )
    error(
        client.put(f"/v1/campaigns/{campaign_id}/budget", json={"amount": "1.001"}),
        422,
        "invalid_input",
    )
    error(
        client.put(f"/v1/campaigns/{campaign_id}/spend/yesterday", json={"amount": "1"}),
        422,
        "invalid_input",
    )
    error(client.put(f"/v1/sites/{site_id}/money", json={"currency": "eur"}), 422, "invalid_input")
    error(
        client.put(f"/v1/sites/{site_id}/money", json={"currency": "EUR", "rates": {"EUR": "2"}}),
        422,
        "invalid_input",
    )
    error(
        client.put(f"/v1/sites/{site_id}/money", json={"currency": "EUR", "rates": {"USD": "0"}}),
        422,
        "invalid_input",
    )
    unknown = "00000000-0000-0000-0000-000000000000"
    error(
        client.put(f"/v1/campaigns/{unknown}/budget", json={"amount": "1"}),
        404,
        "campaign_not_found",
    )
    error(client.get(f"/v1/sites/{unknown}/money"), 404, "site_not_found")
