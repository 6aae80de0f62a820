"""The real engines integration tests run against, as `scripts/stack env` exports them.

They are read once at import, before the autouse fixture clears every PULSE_* variable, so a
test only ever reaches a real engine by asking for it here. A missing engine fails the test:
integration tests never skip (deselect them with `-m "not integration"` instead).
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from datastore.admin import drop_database

_ENGINES = {
    "postgres": os.environ.get("PULSE_DATABASE_URL"),
    "kafka": os.environ.get("PULSE_KAFKA_BOOTSTRAP_SERVERS"),
    "elasticsearch": os.environ.get("PULSE_ELASTICSEARCH_URL"),
    "redis": os.environ.get("PULSE_REDIS_URL"),
}


def engine_url(name: str) -> str:
    url = _ENGINES[name]
    if not url:
        pytest.fail(
            f"this integration test needs {name}, and no URL for it is set: run "
            '`scripts/stack up && eval "$(scripts/stack env)"`, or deselect integration '
            "tests with -m 'not integration'"
        )
    return url


@contextmanager
def scratch_postgres_database(template: str | None = None) -> Iterator[str]:
    """A new database on the stack's Postgres, dropped afterwards: empty, or a copy of the
    database `template` (which nobody may be connected to)."""
    admin_url = make_url(engine_url("postgres"))
    name = f"pulse_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)
        admin.dispose()
