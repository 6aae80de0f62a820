"""The Alembic revisions create exactly the tables the models describe, and downgrade cleanly."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from datastore.engine import make_engine
from datastore.schema import Base, Site
from migrations.runner import alembic_config, downgrade, upgrade
from tests.support.factories import seed_site


def test_upgrade_matches_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    assert {"sites", "event_occurrences", "user_summaries"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def _state(url: str) -> tuple[str | None, dict[str, list[str]], list[str]]:
    """The revision stamped, every table's columns, and the sites' keys."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            inspector = inspect(conn)
            columns = {
                table: sorted(c["name"] for c in inspector.get_columns(table))
                for table in inspector.get_table_names()
            }
            keys = sorted(conn.scalars(select(Site.site_key)))
    finally:
        engine.dispose()
    return revision, columns, keys


def test_upgrade_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        seed_site(session)
    engine.dispose()
    before = _state(database_url)
    upgrade(database_url)  # a second `pulse migrate` on a database already at head
    after = _state(database_url)
    assert after == before
    revision, columns, keys = after
    assert (
        revision is not None
        and revision == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    )
    assert "sites" in columns and len(keys) == 1  # the data survived
