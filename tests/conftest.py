"""Fixtures shared by every test: an isolated environment and a migrated database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from datastore.engine import make_engine
from migrations.runner import upgrade
from servicekit.database import Database
from tests.engines import scratch_postgres_database


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[str]:
    """A freshly migrated database: embedded SQLite, and the stack's Postgres."""
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'pulse.sqlite3'}"
        upgrade(url)
        yield url
        return
    with scratch_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A Database over the migrated test database, disposed (connections closed) afterwards."""
    db = Database(make_engine(database_url))
    yield db
    db.dispose()
