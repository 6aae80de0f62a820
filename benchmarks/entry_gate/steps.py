"""The admission step alone, without HTTP, Kafka or Postgres: atomic script vs lock per request.

In this process, `concurrency` callers for `seconds`, each admitting a new shopper per call into
an activity whose capacity no caller reaches (so every call takes the write path): the
production ADMIT script on the service's async client (`open_async_redis`, the arguments
RedisEntryGate sends), and the baseline's `LockedAdmission` through `asyncio.to_thread` (the
default executor, as in the service). The concurrency stays within that client's pool of 200
connections. Afterwards the gate's counter must equal the number of `ok` answers, with as
many distinct positions: no increment lost, no position given twice.
"""

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from benchmarks.entry_gate.baseline import LockedAdmission
from entry_service.adapters.redis_gate_scripts import ADMIT, activity_keys, admit_args
from servicekit.redis_client import open_async_redis, open_redis

Call = Callable[[int], Awaitable[list[str]]]


@dataclass(frozen=True)
class StepResult:
    name: str
    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ok: int
    counter: int | None
    distinct_positions: int

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    def violations(self) -> list[str]:
        bad = []
        if self.counter != self.ok:
            bad.append(f"counter {self.counter} != {self.ok} admissions")
        if self.distinct_positions != self.ok:
            bad.append(f"{self.distinct_positions} distinct positions for {self.ok} admissions")
        return bad


async def _drive(call: Call, concurrency: int, seconds: float) -> tuple[list[float], list[str]]:
    """Calls made by `concurrency` callers until `seconds` passed: latencies, admitted values."""
    numbers = itertools.count()
    latencies: list[float] = []
    admitted: list[str] = []
    stop = time.monotonic() + seconds

    async def caller() -> None:
        while time.monotonic() < stop:
            start = time.perf_counter()
            outcome = await call(next(numbers))
            latencies.append(time.perf_counter() - start)
            if outcome[0] == "ok":
                admitted.append(outcome[1])

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return latencies, admitted


async def _measure(
    name: str, redis_url: str, activity_id: UUID, call: Call, concurrency: int, seconds: float
) -> StepResult:
    t0 = time.monotonic()
    latencies, admitted = await _drive(call, concurrency, seconds)
    elapsed = time.monotonic() - t0
    client = open_async_redis(redis_url)
    try:
        raw = await client.get(activity_keys(activity_id)[0])
    finally:
        await client.aclose()
    latencies.sort()
    return StepResult(
        name=name,
        calls=len(latencies),
        seconds=elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
        ok=len(admitted),
        counter=int(raw) if raw is not None else None,
        distinct_positions=len({value.rpartition(":")[2] for value in admitted}),
    )


async def atomic_step(
    redis_url: str, activity_id: UUID, capacity: int, concurrency: int, seconds: float
) -> StepResult:
    client = open_async_redis(redis_url)
    script = client.register_script(ADMIT)
    keys = activity_keys(activity_id)

    async def call(n: int) -> list[str]:
        user = f"step-u{n}"
        args = admit_args(user, f"k{n}", uuid.uuid4(), capacity, 1)
        raw = await script(keys=keys, args=args)
        return [v.decode() if isinstance(v, bytes) else str(v) for v in raw]

    try:
        return await _measure("atomic Lua gate", redis_url, activity_id, call, concurrency, seconds)
    finally:
        await client.aclose()


async def locked_step(
    redis_url: str, activity_id: UUID, capacity: int, concurrency: int, seconds: float
) -> StepResult:
    client = open_redis(redis_url)
    admission = LockedAdmission(client)

    async def call(n: int) -> list[str]:
        user = f"step-u{n}"
        return await asyncio.to_thread(
            admission.admit, activity_id, user, f"k{n}", uuid.uuid4(), capacity, 1
        )

    try:
        return await _measure(
            "lock per request", redis_url, activity_id, call, concurrency, seconds
        )
    finally:
        client.close()
