"""Bearer tokens: the configured secret, or on the embedded default one made up once and kept
under the data directory. Every service and the CLI resolve their tokens here."""

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class TokenFile:
    name: str  # the file under the data directory
    prefix: str  # says what a token is for when it turns up in a shell history or a log


ADMIN_TOKEN = TokenFile("admin_token", "adm_")
DASHBOARD_TOKEN = TokenFile("dashboard_token", "dash_")


def persistent_token(path: Path, prefix: str) -> str:
    """Read the token stored at `path`, creating it (owner-readable only) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = f"{prefix}{secrets.token_urlsafe(32)}"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def resolve_token(
    configured: SecretStr | None, data_dir: Path, file: TokenFile, *, embedded: bool
) -> str | None:
    """The configured token; else, when `embedded`, the data directory's; else None."""
    if configured is not None and configured.get_secret_value().strip():
        return configured.get_secret_value().strip()
    if embedded:
        return persistent_token(data_dir / file.name, file.prefix)
    return None


MAX_TOKEN_LENGTH = 512


def token_matches(token: str, allowed: Iterable[str]) -> bool:
    """Whether `token` is one of `allowed`, in constant time. Any string is safe to pass: a
    header's non-ASCII bytes or an oversized value is simply no match."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    given = token.encode("utf-8", "surrogateescape")
    return any(hmac.compare_digest(given, good.encode()) for good in allowed if good)
