"""The Redis gate: one atomic script per request admits or refuses; Postgres decides after.

admit: script -> (cold? warm under python-redis-lock, once) -> publish the reservation and
wait for its delivery report -> wait a short while for the ledger's decision -> answer
`confirmed`/`rejected`, or `reserved` when the decision is still on its way. When Redis is
unreachable the SQL gate decides instead (slower, same rules, same ledger).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Protocol
from uuid import UUID

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common_messaging import (
    ENTRIES_REQUESTED,
    BusUnavailableError,
    EntryDecided,
    EntryReason,
    EntryRequested,
    EntryStatus,
    EventPublisher,
    OutgoingMessage,
    encode,
)
from entry_service import metrics
from entry_service.adapters.decision_waiter import DecisionWaiter
from entry_service.adapters.redis_gate_scripts import (
    ADMIT,
    RELEASE,
    activity_keys,
    admit_args,
    entry_key,
    idempotency_field,
)
from entry_service.adapters.redis_warmer import CountersUnavailable, RedisCounterWarmer
from entry_service.adapters.sql_entry_gate import SqlEntryGate, answer_of
from entry_service.domain.entries import ActivityView, EntryAnswer
from entry_service.errors import BusUnavailable
from servicekit.tracing import with_trace_context

log = logging.getLogger(__name__)

_RECENT: Final = 100_000  # admissions remembered for release, per process
ENTRY_RECORD_TTL_S: Final = 24 * 3600


class Admission(Protocol):
    """The admission step: ADMIT's answers (`["ok" | "dup", "<entry id>:<position>"]`,
    `["user"]`, `["full"]`); raises CountersUnavailable when the counters cannot be warmed."""

    async def __call__(self, request: EntryRequested, activity: ActivityView) -> list[str]: ...


AdmissionFactory = Callable[[aioredis.Redis, RedisCounterWarmer], Admission]


class ScriptAdmission:
    """One atomic script call per request (warming cold counters under a lock, at most twice)."""

    def __init__(self, client: aioredis.Redis, warmer: RedisCounterWarmer) -> None:
        self._admit = client.register_script(ADMIT)
        self._warmer = warmer

    async def __call__(self, request: EntryRequested, activity: ActivityView) -> list[str]:
        keys = activity_keys(activity.id)
        args = admit_args(
            request.user_id,
            request.idempotency_key,
            request.entry_id,
            activity.capacity,
            activity.per_user_limit,
        )
        for _ in range(3):
            raw = await self._admit(keys=keys, args=args)
            outcome = [v.decode() if isinstance(v, bytes) else str(v) for v in raw]
            if outcome[0] != "cold":
                return outcome
            await asyncio.to_thread(self._warmer.warm, activity.id)
        raise CountersUnavailable(f"counters of activity {activity.id} keep going cold")


class RedisEntryGate:
    def __init__(
        self,
        client: aioredis.Redis,
        admission: Admission,
        publisher: EventPublisher,
        waiter: DecisionWaiter,
        fallback: SqlEntryGate,
        *,
        confirm_wait_s: float,
        retry_after_s: int,
    ) -> None:
        self._redis = client
        self._admission = admission
        self._release = client.register_script(RELEASE)
        self._publisher = publisher
        self._waiter = waiter
        self._fallback = fallback
        self._confirm_wait_s = confirm_wait_s
        self._retry_after_s = retry_after_s
        self._admitted: OrderedDict[UUID, tuple[EntryRequested, str]] = OrderedDict()
        waiter.on_decision(self._on_decision)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def admit(self, request: EntryRequested, activity: ActivityView) -> EntryAnswer:
        self._loop = asyncio.get_running_loop()
        try:
            outcome = await self._admission(request, activity)
        # Unreachable, not merely slow to answer a script: only then is Postgres alone asked.
        except (RedisConnectionError, RedisTimeoutError, CountersUnavailable) as exc:
            log.warning("entry_gate_fallback activity_id=%s error=%s", activity.id, exc)
            metrics.gate_fallback(exc)
            return await self._fallback.admit(request, activity)
        code = outcome[0]
        if code == "user":
            return EntryAnswer(request.entry_id, EntryStatus.REJECTED, EntryReason.ALREADY_ENTERED)
        if code == "full":
            return EntryAnswer(request.entry_id, EntryStatus.REJECTED, EntryReason.SOLD_OUT)
        entry_id, position = _parse(outcome[1])
        if code == "dup":
            known = await self.lookup(entry_id)
            return known or EntryAnswer(entry_id, EntryStatus.RESERVED, position=position)
        return await self._reserve(request.model_copy(update={"position": position}), outcome[1])

    async def _reserve(self, request: EntryRequested, admitted: str) -> EntryAnswer:
        self._remember(request, admitted)
        decided = self._waiter.expect(request.entry_id)
        try:
            await self._publisher.publish(
                ENTRIES_REQUESTED,
                with_trace_context(
                    [
                        OutgoingMessage(
                            value=encode(
                                request, message_id=request.entry_id, producer="entry_service"
                            ),
                            key=str(request.activity_id).encode(),
                        )
                    ]
                ),
            )
        except BusUnavailableError as exc:
            metrics.kafka_error("publish")
            self._waiter.forget(request.entry_id)
            await self._undo(request.entry_id)
            raise BusUnavailable(
                "entries cannot be taken right now; retry shortly",
                headers={"Retry-After": str(self._retry_after_s)},
            ) from exc
        await self._note_reserved(request)
        decision = await self._await_decision(decided)
        if decision is None:
            self._waiter.forget(request.entry_id)
            return EntryAnswer(
                request.entry_id,
                EntryStatus.RESERVED,
                position=request.position,
                activity_id=request.activity_id,
            )
        return answer_of(decision)

    async def _await_decision(self, decided: "asyncio.Future[EntryDecided]") -> EntryDecided | None:
        if decided.done():
            return decided.result()
        if self._confirm_wait_s <= 0:  # no timer (and no task) to pay for: a spike's hot path
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(decided), self._confirm_wait_s)
        except TimeoutError:
            return None

    async def _note_reserved(self, request: EntryRequested) -> None:
        # Only a hint for GET before the decision lands; losing it loses no entry.
        try:
            await self._redis.set(
                entry_key(request.entry_id),
                f"{request.activity_id}:{request.position}",
                ex=ENTRY_RECORD_TTL_S,
            )
        except RedisError as exc:
            log.warning("entry_record_failed entry_id=%s error=%s", request.entry_id, exc)

    async def lookup(self, entry_id: UUID) -> EntryAnswer | None:
        decided = await self._fallback.lookup(entry_id)
        if decided is not None:
            return decided
        try:
            raw = await self._redis.get(entry_key(entry_id))
        except RedisError:
            return None
        if raw is None:
            return None
        activity_id, _, position = (raw.decode() if isinstance(raw, bytes) else raw).partition(":")
        return EntryAnswer(
            entry_id,
            EntryStatus.RESERVED,
            position=int(position) if position.isdigit() else None,
            activity_id=UUID(activity_id),
        )

    def _remember(self, request: EntryRequested, admitted: str) -> None:
        self._admitted[request.entry_id] = (request, admitted)
        while len(self._admitted) > _RECENT:
            self._admitted.popitem(last=False)

    def _on_decision(self, decision: EntryDecided) -> None:
        """Postgres refused an admission for a reason other than capacity: give the seat back."""
        if decision.status is EntryStatus.CONFIRMED or decision.reason is EntryReason.SOLD_OUT:
            self._admitted.pop(decision.entry_id, None)
            return
        if decision.entry_id in self._admitted and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._undo(decision.entry_id), self._loop)

    async def _undo(self, entry_id: UUID) -> None:
        remembered = self._admitted.pop(entry_id, None)
        if remembered is None:
            return
        request, admitted = remembered
        try:
            await self._release(
                keys=activity_keys(request.activity_id),
                args=[
                    request.user_id,
                    idempotency_field(request.user_id, request.idempotency_key),
                    admitted,
                ],
            )
        except RedisError as exc:  # the counters run one high until the next rebuild
            log.warning("entry_release_failed entry_id=%s error=%s", entry_id, exc)


def _parse(value: str) -> tuple[UUID, int]:
    entry_id, _, position = value.rpartition(":")
    return UUID(entry_id), int(position)
