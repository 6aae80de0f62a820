"""Bearer-token checks for the admin and dashboard APIs."""

import hmac
from collections.abc import Callable, Iterable

from fastapi import Request

from servicekit.errors import Unauthorized


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_bearer(allowed: Callable[[Request], Iterable[str]]) -> Callable[[Request], None]:
    """A dependency that refuses requests whose bearer token is not one of `allowed(request)`."""

    def _check(request: Request) -> None:
        token = bearer_token(request)
        if token is None:
            raise Unauthorized(
                "missing bearer token: send 'Authorization: Bearer <token>'",
                code="missing_token",
            )
        if not any(hmac.compare_digest(token, good) for good in allowed(request) if good):
            raise Unauthorized("the bearer token is not valid for this API", code="invalid_token")

    return _check
