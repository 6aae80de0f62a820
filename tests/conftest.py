"""Fixtures shared by every test: an isolated environment and a migrated database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrations.runner import upgrade


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No PULSE_* variable of the developer's shell leaks into a test; data goes to tmp."""
    import os

    for name in list(os.environ):
        if name.startswith("PULSE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path / "data"))
    yield


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def database_url(data_dir: Path) -> str:
    """A freshly migrated SQLite database (the embedded default)."""
    url = f"sqlite:///{data_dir / 'pulse.sqlite3'}"
    upgrade(url)
    return url
