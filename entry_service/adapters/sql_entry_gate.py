"""The embedded gate: the entries ledger's conditional update, decided right in the request.

Used when Redis is not configured, and as the fallback while Redis is unreachable: Postgres
alone is correct (it is the source of truth), just slower under a spike. Every answer is in
the ledger before it is given (refusals included), so `lookup` knows every entry id answered.
"""

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from common_messaging import EntryDecided, EntryReason, EntryRequested, EntryStatus
from datastore.schema import Entry
from entries_ledger.decider import AfterDecision, EntryDecider
from entries_ledger.sql_ledger import ledger_scope
from entry_service.adapters.rate_limit import MemoryRateLimiter
from entry_service.domain.entries import (
    ActivityView,
    EntryAnswer,
    RateCheck,
    RateLimiter,
    Throttled,
    decide_in_steps,
)
from servicekit.database import Database

log = logging.getLogger(__name__)

_BUSY_RETRIES = 50


def answer_of(decision: EntryDecided) -> EntryAnswer:
    return EntryAnswer(
        decision.entry_id,
        decision.status,
        decision.reason,
        decision.position,
        decision.detail,
        activity_id=decision.activity_id,
    )


class SqlEntryGate:
    def __init__(
        self,
        database: Database,
        after: AfterDecision,
        clock: Callable[[], datetime],
        limiter: RateLimiter | None = None,
    ) -> None:
        self._database = database
        self._limiter: RateLimiter = limiter or MemoryRateLimiter()
        self._decider = EntryDecider(ledger_scope(database), clock)
        self._after = after
        # SQLite lets one writer in at a time; queueing here beats its busy-wait.
        self._sqlite = database.engine.dialect.name == "sqlite"
        self._serial = threading.Lock()

    async def enter(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck
    ) -> EntryAnswer | Throttled:
        return await decide_in_steps(self._limiter, self, request, activity, check)

    async def admit(self, request: EntryRequested, activity: ActivityView) -> EntryAnswer:
        return answer_of(await asyncio.to_thread(self.decide, request))

    def decide(self, request: EntryRequested) -> EntryDecided:
        decision = self._decide_retrying(request)
        if decision.entry_id == request.entry_id:
            try:
                self._after([(request, decision)])
            # The entry is won in the ledger; the dashboard's index must not undo the answer.
            except Exception as exc:
                log.warning("entry_index_failed entry_id=%s error=%s", request.entry_id, exc)
        return decision

    async def refuse(self, request: EntryRequested) -> EntryAnswer:
        return answer_of(await asyncio.to_thread(self.record_refusal, request))

    def record_refusal(self, request: EntryRequested) -> EntryDecided:
        return self._retrying(lambda: self._decider.refuse([request])[0])

    def _decide_retrying(self, request: EntryRequested) -> EntryDecided:
        return self._retrying(lambda: self._decider.decide(request))

    def _retrying(self, write: Callable[[], EntryDecided]) -> EntryDecided:
        for attempt in range(_BUSY_RETRIES):
            try:
                if not self._sqlite:
                    return write()
                with self._serial:
                    return write()
            except OperationalError as exc:  # SQLite "database is locked" by another writer
                if not self._sqlite or attempt == _BUSY_RETRIES - 1:
                    raise
                log.debug("entry_sqlite_busy attempt=%d error=%s", attempt, exc)
                time.sleep(random.uniform(0.005, 0.02))
        raise AssertionError("unreachable")

    async def lookup(self, entry_id: UUID) -> EntryAnswer | None:
        return await asyncio.to_thread(self._read, entry_id)

    def _read(self, entry_id: UUID) -> EntryAnswer | None:
        with self._database.reader() as session:
            row = session.scalar(select(Entry).where(Entry.id == entry_id))
        if row is None:
            return None
        return EntryAnswer(
            row.id,
            EntryStatus(row.status),
            EntryReason(row.reason) if row.reason else None,
            row.position,
            row.detail,
            activity_id=row.activity_id,
        )
