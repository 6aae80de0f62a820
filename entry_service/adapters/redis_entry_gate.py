"""The Redis gate: one atomic script per request decides; Postgres confirms after.

enter: ONE script call (rate limits, the refusal decided in process, per-user limit, capacity,
idempotency key, the answer's copy; `redis_gate_scripts.ADMIT`) -> (cold? warm under
python-redis-lock, once) -> publish the reservation or refusal and wait once for its delivery
report -> wait a short while (`confirm_wait_s`, 0 = not at all) for the ledger's decision ->
answer `confirmed`/`rejected`, or `reserved` when the decision is still on its way. When Redis
is unreachable the SQL gate decides instead (slower, same rules, same ledger; the rate limits
fail open for that moment, as `RedisRateLimiter` does). When Redis is up but this worker's
connections all stay busy beyond the pool's wait (a spike past its capacity), the request is
shed with a 503 `entry_gate_busy` and Retry-After, never decided by the SQL gate.

Every answer with an entry id is durable before it is given: a reservation is on the bus (the
ledger will decide it), a refusal (sold out, already entered, and the domain's window and
eligibility refusals) is on the bus for the ledger to record, and a fallback decision is in
the ledger. Redis keeps a copy of each answer for a day (`pulse:entry:<id>`), so `lookup` reads
Redis first and the ledger otherwise; the copy is only a shortcut, never the record.
"""

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Protocol
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
    decision_args,
    entry_key,
    idempotency_field,
    rate_limit_key,
)
from entry_service.adapters.redis_warmer import CountersUnavailable, RedisCounterWarmer
from entry_service.adapters.sql_entry_gate import SqlEntryGate, answer_of
from entry_service.domain.entries import ActivityView, EntryAnswer, RateCheck, Throttled
from entry_service.errors import BusUnavailable, GateBusy
from servicekit.redis_client import PoolExhausted
from servicekit.tracing import with_trace_context

log = logging.getLogger(__name__)

_RECENT: Final = 100_000  # admissions remembered for release, per process
ENTRY_RECORD_TTL_S: Final = 24 * 3600


class Admission(Protocol):
    """The admission step: ADMIT's answers (`["ok" | "dup", "<entry id>:<position>"]`,
    `["user"]`, `["full"]`, and with a `check`: `["limited"]`, `["refused"]` for a request
    with `refused` set); raises CountersUnavailable when the counters cannot be warmed.
    `records_answers`: the step itself writes the answer's copy (else the gate does)."""

    records_answers: bool

    async def __call__(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck | None = None
    ) -> list[str]: ...


AdmissionFactory = Callable[[aioredis.Redis, RedisCounterWarmer], Admission]


class ScriptAdmission:
    """One atomic script call per request (EVALSHA; warming cold counters under a lock, at
    most twice). With a `check`, the same call counts the rate limits too."""

    records_answers = True

    def __init__(self, client: aioredis.Redis, warmer: RedisCounterWarmer) -> None:
        self._admit = client.register_script(ADMIT)
        self._warmer = warmer

    async def __call__(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck | None = None
    ) -> list[str]:
        keys = [*activity_keys(activity.id), entry_key(request.entry_id)]
        limits: list[int] = []
        if check is not None:
            window = int(time.time() // check.window_s)
            keys += [rate_limit_key(key, window) for key, _ in check.limits]
            limits = [limit for _, limit in check.limits]
        args = decision_args(
            admit_args(
                request.user_id,
                request.idempotency_key,
                request.entry_id,
                activity.capacity,
                activity.per_user_limit,
            ),
            refused=request.refused.value if request.refused else None,
            detail=request.detail,
            activity_id=activity.id,
            copy_ttl_s=ENTRY_RECORD_TTL_S,
            window_s=check.window_s if check is not None else 1,
            limits=limits,
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
        lookup_grace_s: float = 2.0,
    ) -> None:
        self._redis = client
        self._admission = admission
        self._release = client.register_script(RELEASE)
        self._publisher = publisher
        self._waiter = waiter
        self._fallback = fallback
        self._confirm_wait_s = confirm_wait_s
        self._retry_after_s = retry_after_s
        self._lookup_grace_s = lookup_grace_s
        self._warned_at = 0.0
        self._admitted: OrderedDict[UUID, tuple[EntryRequested, str]] = OrderedDict()
        waiter.on_decision(self._on_decision)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def admit(self, request: EntryRequested, activity: ActivityView) -> EntryAnswer:
        answer = await self._decide(request, activity, None)
        assert not isinstance(answer, Throttled)  # no check, no throttling
        return answer

    async def enter(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck
    ) -> EntryAnswer | Throttled:
        return await self._decide(request, activity, check)

    async def _decide(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck | None
    ) -> EntryAnswer | Throttled:
        self._loop = asyncio.get_running_loop()
        try:
            outcome = await self._admission(request, activity, check)
        except PoolExhausted as exc:
            # Busy is not down: the database deciding beside a working Redis would confirm
            # seats its counters never count, and the shoppers Redis told `reserved` would
            # lose them later. The shopper retries with the same key.
            log.warning("entry_gate_busy activity_id=%s error=%s", activity.id, exc)
            raise GateBusy(
                "too many entries at once; retry shortly with the same Idempotency-Key",
                headers={"Retry-After": str(self._retry_after_s)},
            ) from exc
        # Unreachable, not merely slow to answer a script: only then is Postgres alone asked.
        except (RedisConnectionError, RedisTimeoutError, CountersUnavailable) as exc:
            log.warning("entry_gate_fallback activity_id=%s error=%s", activity.id, exc)
            metrics.gate_fallback(exc)
            if request.refused is not None:
                return await self._fallback.refuse(request)
            return await self._fallback.admit(request, activity)
        code = outcome[0]
        noted = self._admission.records_answers
        if code == "limited" and check is not None:
            window_s = check.window_s
            return Throttled(window_s - time.time() % window_s, len(check.limits))
        if code == "refused":
            return await self.refuse(request, noted=noted)
        if code == "user":
            refused = request.model_copy(update={"refused": EntryReason.ALREADY_ENTERED})
            return await self.refuse(refused, noted=noted)
        if code == "full":
            refused = request.model_copy(update={"refused": EntryReason.SOLD_OUT})
            return await self.refuse(refused, noted=noted)
        entry_id, position = _parse(outcome[1])
        if code == "dup":
            known = await self._known(entry_id)
            if known is not None:
                return known
            # Redis remembers an admission no record shows (its publish failed and the undo
            # did not reach Redis, or the copy expired): publish it again, under its own id,
            # before answering with it. The ledger decides an entry id once.
            update = {"entry_id": entry_id, "position": position}
            return await self._reserve(request.model_copy(update=update), outcome[1], False)
        update = {"position": position}
        return await self._reserve(request.model_copy(update=update), outcome[1], noted)

    async def refuse(self, request: EntryRequested, *, noted: bool = False) -> EntryAnswer:
        """Publish a refusal (its copy already in Redis when `noted`) and answer it."""
        answer = EntryAnswer(
            request.entry_id,
            EntryStatus.REJECTED,
            request.refused,
            detail=request.detail,
            activity_id=request.activity_id,
        )
        try:
            if noted:
                await self._publish(request)
            else:
                await asyncio.gather(self._publish(request), self._note(answer))
        except BusUnavailableError:
            # No bus: the ledger records it right here (one write), or the attempt is a 503.
            try:
                return await self._fallback.refuse(request)
            except Exception as exc:
                log.warning("entry_refusal_unrecorded entry_id=%s error=%s", request.entry_id, exc)
                raise BusUnavailable(
                    "entries cannot be taken right now; retry shortly",
                    headers={"Retry-After": str(self._retry_after_s)},
                ) from exc
        return answer

    async def _publish(self, request: EntryRequested) -> None:
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

    async def _reserve(self, request: EntryRequested, admitted: str, noted: bool) -> EntryAnswer:
        self._remember(request, admitted)
        decided = self._waiter.expect(request.entry_id)
        try:
            await self._publish(request)
        except BusUnavailableError as exc:
            metrics.kafka_error("publish")
            self._waiter.forget(request.entry_id)
            await self._undo(request.entry_id)
            raise BusUnavailable(
                "entries cannot be taken right now; retry shortly",
                headers={"Retry-After": str(self._retry_after_s)},
            ) from exc
        reserved = EntryAnswer(
            request.entry_id,
            EntryStatus.RESERVED,
            position=request.position,
            activity_id=request.activity_id,
        )
        if not noted:
            await self._note(reserved)
        decision = await self._await_decision(decided)
        if decision is None:
            self._waiter.forget(request.entry_id)
            return reserved
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

    async def _note(self, answer: EntryAnswer) -> None:
        # Only a shortcut for GET: the record is on the bus (or in the ledger) already.
        try:
            await self._redis.set(entry_key(answer.entry_id), _copy(answer), ex=ENTRY_RECORD_TTL_S)
        except RedisError as exc:
            now = time.monotonic()
            if now - self._warned_at >= 10:  # once per 10 s, not once per request of a spike
                self._warned_at = now
                log.warning("entry_copy_failed entry_id=%s error=%s", answer.entry_id, exc)

    async def lookup(self, entry_id: UUID) -> EntryAnswer | None:
        """Redis's copy when it is final, else the ledger, else Redis's `reserved`. An entry id
        in neither may be an answer whose record is still on its way to the ledger (Redis lost
        its copy meanwhile): the ledger is asked again for up to `lookup_grace_s`."""
        known = await self._known(entry_id)
        deadline = time.monotonic() + self._lookup_grace_s
        while known is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            known = await self._fallback.lookup(entry_id)
        return known

    async def _known(self, entry_id: UUID) -> EntryAnswer | None:
        try:
            raw = await self._redis.get(entry_key(entry_id))
        except RedisError:
            raw = None
        copy = None if raw is None else _read_copy(entry_id, raw)
        if copy is not None and copy.status is not EntryStatus.RESERVED:
            return copy
        return await self._fallback.lookup(entry_id) or copy

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
                keys=[*activity_keys(request.activity_id), entry_key(entry_id)],
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


def _copy(answer: EntryAnswer) -> str:
    fields = {
        "s": answer.status.value,
        "r": answer.reason.value if answer.reason else None,
        "p": answer.position,
        "d": answer.detail,
        "a": str(answer.activity_id) if answer.activity_id else None,
    }
    return json.dumps({k: v for k, v in fields.items() if v is not None})


def _read_copy(entry_id: UUID, raw: bytes | str) -> EntryAnswer | None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        if not text.startswith("{"):  # written before copies were JSON: "<activity>:<position>"
            activity_id, _, position = text.partition(":")
            fields: dict[str, Any] = {"s": "reserved", "a": activity_id, "p": position or None}
        else:
            fields = json.loads(text)
        return EntryAnswer(
            entry_id,
            EntryStatus(fields["s"]),
            EntryReason(fields["r"]) if fields.get("r") else None,
            int(fields["p"]) if fields.get("p") else None,
            fields.get("d"),
            activity_id=UUID(fields["a"]) if fields.get("a") else None,
        )
    except (ValueError, KeyError, TypeError) as exc:  # a damaged copy: the ledger answers
        log.warning("entry_copy_unreadable entry_id=%s error=%s", entry_id, exc)
        return None
