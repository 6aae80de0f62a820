"""Which URLs may receive webhooks: https on a public address, unless the deployment allows
private targets (`PULSE_WEBHOOKS_ALLOW_PRIVATE_TARGETS`, for tests and private networks).

Every address the host resolves to must be public: one private address among public ones is
enough to reach inside. The dispatcher checks again before each POST, as DNS may have changed.
"""

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from servicekit.errors import InvalidInput

Resolver = Callable[[str, int], Sequence[str]]


class WebhookUrlInvalid(InvalidInput):
    code = "webhook_url_invalid"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"webhook URL {url!r} is refused: {reason}",
            details=[{"field": "url", "message": reason}],
        )


class WebhookUrlNotPublic(InvalidInput):
    code = "webhook_url_not_public"

    def __init__(self, url: str, address: str) -> None:
        reason = (
            f"the host resolves to {address}, a private, loopback, link-local or otherwise "
            "non-public address; webhooks go to public addresses only"
        )
        super().__init__(
            f"webhook URL {url!r} is refused: {reason}",
            details=[{"field": "url", "message": reason, "address": address}],
        )


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_target(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
    """Raise WebhookUrlInvalid / WebhookUrlNotPublic unless `url` may receive webhooks."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlInvalid(url, f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlInvalid(url, "an absolute https:// URL with a host is required")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlInvalid(url, "credentials in the URL are not allowed")
    if allow_private:
        return
    if parts.scheme != "https":
        raise WebhookUrlInvalid(url, "https is required")
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlInvalid(url, f"the host {parts.hostname!r} does not resolve") from exc
    if not addresses:
        raise WebhookUrlInvalid(url, f"the host {parts.hostname!r} does not resolve")
    for address in addresses:
        if not is_public(address):
            raise WebhookUrlNotPublic(url, address)
