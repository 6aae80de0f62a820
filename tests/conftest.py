"""Fixtures shared by every test: an isolated environment and a migrated database."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

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


# Migrating takes most of a second per database: the suite migrates one database per engine
# and gives every test a copy of it, as fresh as its own migration would be.
@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "pulse.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """The name of a migrated database on the stack's Postgres (nobody stays connected)."""
    with scratch_postgres_database() as url:
        upgrade(url)
        name = make_url(url).database
        assert name is not None
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[str]:
    """A freshly migrated database: embedded SQLite, and the stack's Postgres."""
    if request.param == "sqlite":
        path = data_dir / "pulse.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    with scratch_postgres_database(template=request.getfixturevalue("migrated_postgres")) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A Database over the migrated test database, disposed (connections closed) afterwards."""
    db = Database(make_engine(database_url))
    yield db
    db.dispose()
