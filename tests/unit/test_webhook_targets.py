"""Webhook URLs: https on public addresses only, every resolved address checked, unless the
deployment allows private targets."""

from collections.abc import Sequence

import pytest

from shop_webhooks.targets import WebhookUrlInvalid, WebhookUrlNotPublic, check_target


def resolving_to(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fc00::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(WebhookUrlNotPublic) as refused:
        check_target(
            "https://shop.example/hooks", allow_private=False, resolve=resolving_to(address)
        )
    assert refused.value.error_code == "webhook_url_not_public"
    assert address in refused.value.message


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(WebhookUrlNotPublic):
        check_target(
            "https://shop.example/hooks",
            allow_private=False,
            resolve=resolving_to("93.184.216.34", "10.0.0.5"),
        )


def test_a_public_https_url_is_accepted() -> None:
    check_target(
        "https://shop.example:8443/hooks",
        allow_private=False,
        resolve=resolving_to("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"),
    )


def test_a_real_resolver_sees_localhost_as_loopback() -> None:
    with pytest.raises(WebhookUrlNotPublic):
        check_target("https://localhost/hooks", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://shop.example/hooks", "https is required"),
        ("ftp://shop.example/hooks", "absolute https:// URL"),
        ("/hooks", "absolute https:// URL"),
        ("https://user:pw@shop.example/hooks", "credentials"),
        ("https://shop.example:99999/hooks", "not a valid URL"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(WebhookUrlInvalid, match=reason):
        check_target(url, allow_private=False, resolve=resolving_to("93.184.216.34"))


def test_an_unresolvable_host_is_refused() -> None:
    def fails(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    with pytest.raises(WebhookUrlInvalid, match="does not resolve"):
        check_target("https://nowhere.invalid/hooks", allow_private=False, resolve=fails)


def test_the_setting_allows_private_targets_and_plain_http() -> None:
    check_target(
        "http://127.0.0.1:9000/hooks", allow_private=True, resolve=resolving_to("127.0.0.1")
    )
