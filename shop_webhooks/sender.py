"""One POST of a signed webhook, bounded in time, with its outcome for the delivery log."""

import time
from dataclasses import dataclass

import httpx

from shop_webhooks.signing import signed_headers
from shop_webhooks.targets import (
    Resolver,
    WebhookUrlInvalid,
    WebhookUrlNotPublic,
    check_target,
    system_resolver,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Post:
    url: str
    secret: str
    message_id: str
    timestamp: int
    body: bytes


class HttpSender:
    """Posts with one shared httpx client: no redirects followed (a 3xx is a failure), the
    target re-checked before each POST unless private targets are allowed."""

    def __init__(
        self,
        *,
        timeout_s: float,
        allow_private: bool,
        resolve: Resolver = system_resolver,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            transport=transport,
            headers={"user-agent": "Pulse-Webhooks/1"},
        )

    def send(self, post: Post) -> Outcome:
        started = time.perf_counter()
        try:
            check_target(post.url, allow_private=self._allow_private, resolve=self._resolve)
            headers = signed_headers(post.secret, post.message_id, post.timestamp, post.body)
            response = self._client.post(post.url, content=post.body, headers=headers)
        except (WebhookUrlInvalid, WebhookUrlNotPublic) as exc:
            return Outcome(None, exc.message[:500], _ms(started))
        except httpx.TimeoutException as exc:
            return Outcome(None, f"timeout: {type(exc).__name__}", _ms(started))
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
        return Outcome(response.status_code, None, _ms(started))

    def close(self) -> None:
        self._client.close()


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
