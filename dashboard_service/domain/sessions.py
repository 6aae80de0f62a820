"""Browser sessions of the dashboard UI: `issue_session` at sign-in, `session_is_valid` after.

A session is `<expires>.<nonce>.<signature>`, signed with HMAC-SHA256 under a key derived from
the token the reader signed in with. The server keeps no session state, so every replica that
knows the token accepts the session, and replacing the token ends every session signed with it.
The token itself never leaves the sign-in request: the cookie cannot be turned back into it.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from servicekit.errors import Unauthorized
from servicekit.secrets import token_matches

_PURPOSE = b"pulse-dashboard-session-v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signature(token: str, payload: str) -> str:
    key = hmac.new(token.encode(), _PURPOSE, hashlib.sha256).digest()
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def token_is_valid(token: str, tokens: Iterable[str]) -> bool:
    """Constant-time comparison against every accepted token."""
    return token_matches(token, tokens)


def sign_in(
    token: str, tokens: Iterable[str], now: datetime, ttl: timedelta
) -> tuple[str, datetime]:
    """A session for a reader who proved one of the accepted tokens; refuses any other."""
    if not token_is_valid(token, tokens):
        raise Unauthorized("the token is not valid for this dashboard", code="invalid_token")
    return issue_session(token, now, ttl)


def issue_session(token: str, now: datetime, ttl: timedelta) -> tuple[str, datetime]:
    """A new session value for a reader who proved `token`, and when it expires."""
    expires = now + ttl
    payload = f"{int(expires.timestamp())}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_signature(token, payload)}", expires


def session_is_valid(value: str, tokens: Iterable[str], now: datetime) -> bool:
    expires, _, rest = value.partition(".")
    nonce, _, signature = rest.partition(".")
    if not (expires.isascii() and expires.isdigit() and nonce and signature):
        return False
    if int(expires) <= now.timestamp():
        return False
    payload = f"{expires}.{nonce}"
    return any(
        hmac.compare_digest(signature.encode(), _signature(token, payload).encode())
        for token in tokens
        if token
    )
