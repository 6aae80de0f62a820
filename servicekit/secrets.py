"""Tokens that the embedded default generates once and keeps under the data directory."""

import secrets
from pathlib import Path


def persistent_token(path: Path, prefix: str) -> str:
    """Read the token stored at `path`, creating it (owner-readable only) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = f"{prefix}{secrets.token_urlsafe(32)}"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token
