"""`POST/DELETE /v1/session`: the web UI's sign-in with a dashboard token, and sign-out.

Signing in sets an HttpOnly, SameSite=Strict session cookie (see domain/sessions.py), so the
token never sits in the page's storage and cross-site requests never carry the session.
"""

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response

from dashboard_service.api.deps import (
    SESSION_COOKIE,
    ClockDep,
    PortsDep,
    ReadTokensDep,
    SignInGuardDep,
)
from dashboard_service.api.schemas import SessionResponse, SignInRequest
from dashboard_service.domain.sessions import sign_in
from servicekit.errors import Unauthorized

router = APIRouter(prefix="/v1", tags=["session"])


@router.post("/session", response_model=SessionResponse)
def create_session(
    body: SignInRequest,
    request: Request,
    response: Response,
    tokens: ReadTokensDep,
    clock: ClockDep,
    guard: SignInGuardDep,
    ports: PortsDep,
) -> SessionResponse:
    """Trade a dashboard (or admin) token for a browser session; 401 for any other token,
    429 after repeated failures from one address."""
    ttl = timedelta(hours=ports.session_hours)
    address = request.client.host if request.client else "unknown"
    guard.check(address, clock())
    try:
        value, expires = sign_in(body.token, tokens, clock(), ttl)
    except Unauthorized:
        guard.failed(address, clock())
        raise
    _set_cookie(response, value, expires, clock(), secure=request.url.scheme == "https")
    return SessionResponse(expires_at=expires)


@router.delete("/session", status_code=204)
def delete_session(response: Response) -> None:
    """Sign out: the browser forgets its session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def _set_cookie(
    response: Response, value: str, expires: datetime, now: datetime, *, secure: bool
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int((expires - now).total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,  # set behind TLS; plain http is for loopback development
    )
