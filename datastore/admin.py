"""Database administration the tests and benchmarks share: dropping their scratch databases."""

import time

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError


def drop_database(admin: Engine, name: str) -> None:
    """`DROP DATABASE ... WITH (FORCE)`, tried again for a few seconds: FORCE cannot end a
    superuser's session (an autovacuum worker, after a load's inserts), which raises
    InsufficientPrivilege, and that worker is gone a moment later."""
    for attempt in range(10):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            if attempt == 9:
                raise
            time.sleep(0.5)


__all__ = ["drop_database"]
