"""Units of work over a SQLAlchemy engine: the unit of work commits, repositories never do."""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run blocking database work in one unit of work, off the event loop."""

        def _work() -> T:
            with self.unit_of_work() as session:
                return fn(session)

        return await asyncio.to_thread(_work)

    async def ping(self) -> None:
        def _ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        await asyncio.to_thread(_ping)

    def dispose(self) -> None:
        self.engine.dispose()
