"""Bearer-token checks for the admin and dashboard APIs."""

from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request

from servicekit.errors import Unauthorized
from servicekit.secrets import token_matches


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_bearer(request: Request, allowed: Iterable[str]) -> None:
    """Refuse the request unless its bearer token is one of `allowed`."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized(
            "missing bearer token: send 'Authorization: Bearer <token>'", code="missing_token"
        )
    if not token_matches(token, allowed):
        raise Unauthorized("the bearer token is not valid for this API", code="invalid_token")


def require_bearer(allowed: Callable[..., Iterable[str]]) -> Callable[..., None]:
    """A dependency refusing requests whose bearer token is not one that the dependency
    `allowed` gives (so tests can override where the tokens come from)."""

    def _check(request: Request, tokens: Annotated[Iterable[str], Depends(allowed)]) -> None:
        check_bearer(request, tokens)

    return _check
