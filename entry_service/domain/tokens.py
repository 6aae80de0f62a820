"""Shoppers' user tokens: HS256 JWTs the site's own backend signs with the site's secret.

The user id comes from the token only (`sub`), never from the request body, so a shopper cannot
enter as someone else. `exp` is required; optional `traits` carry user attributes the site
vouches for (conditions can test them as `traits.<name>`).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt

# A little slack for clocks of the site's backend and ours disagreeing.
LEEWAY_S = 30


class InvalidToken(ValueError):
    """The token is missing, malformed, expired, or not signed with the site's secret."""


@dataclass(frozen=True, slots=True)
class Shopper:
    user_id: str
    traits: dict[str, Any] = field(default_factory=dict)


def verify_user_token(token: str, secret: str, now: datetime) -> Shopper:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"], "verify_iat": False},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the user token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"the user token is not valid: {exc}") from exc
    # PyJWT checks `exp` against the wall clock; also hold it to our clock (tests, skewed hosts).
    if float(claims["exp"]) + LEEWAY_S < now.timestamp():
        raise InvalidToken("the user token has expired")
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 128:
        raise InvalidToken("`sub` must be the user id: a string of 1 to 128 characters")
    traits = claims.get("traits") or {}
    if not isinstance(traits, dict):
        raise InvalidToken("`traits` must be an object")
    return Shopper(user_id, traits)


def sign_user_token(user_id: str, secret: str, expires_at: datetime, **claims: Any) -> str:
    """What a site's backend does (shown in the README); used by the demo and the tests."""
    payload = {"sub": user_id, "exp": int(expires_at.timestamp()), **claims}
    return jwt.encode(payload, secret, algorithm="HS256")
