"""The entry decision's floors without HTTP: `enter()` on the production ports, each variant in
a child process of bounded life.

The production domain call (`entry_service.domain.entries.enter`) on the production ports
(`entry_service.wiring.entry_ports`), `callers` concurrent callers for `seconds`, every call a
new shopper into an activity it never fills (the write path every time), in four variants:

- full: the Redis script + the Kafka publish and its delivery wait (the request minus HTTP);
- no Kafka: the publisher acknowledges at once (`AcknowledgingPublisher`; no producer opened);
- no Redis: the admission step admits at once (`InstantAdmission`; the answer's copy is the
  script's, so nothing else reaches Redis on this path); Kafka real;
- neither: the domain and the gate's Python alone.

Each variant runs as `python -m benchmarks.entry_gate.floors <variant> <activity> <seconds>
<callers>` with the entry server's environment: its own event loop, pools and producer, all
closed explicitly before it prints its one `FLOOR_JSON {...}` line and leaves with
`os._exit` (an earlier in-process harness hung in a librdkafka handle's teardown under garbage
collection, and in redis-py's blocking pool). The parent kills a child that outlives
`timeout_s` and reports the variant as failed instead of waiting for it.

CPU is the child's whole process time (its librdkafka threads included), per call. Like the
server, a child keeps the cyclic GC off its calls (`PULSE_ENTRY_GC_TUNING`).
"""

import asyncio
import faulthandler
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from itertools import count
from typing import Final
from uuid import UUID

import redis.asyncio as aioredis

from benchmarks.common.acknowledging_publisher import AcknowledgingPublisher
from benchmarks.common.http_load import REPO
from benchmarks.entry_gate.scratch import delete_entry_copies
from common_messaging import DeviceInfo, DeviceType, EntryRequested, EventPublisher
from common_messaging.bus import open_publisher
from datastore.engine import make_engine
from entry_service.adapters.redis_entry_gate import Admission, ScriptAdmission
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.domain.entries import (
    ActivityView,
    EntryCommand,
    EntryPorts,
    RateCheck,
    enter,
)
from entry_service.settings import EntrySettings
from entry_service.wiring import entry_ports
from servicekit.clock import utc_now
from servicekit.database import Database
from servicekit.redis_client import close_async_redis, close_redis, open_async_redis, open_redis
from servicekit.server_gc import serving_gc

# variant -> (publisher acknowledges at once, admission answers at once)
VARIANTS: Final = {
    "full": (False, False),
    "no Kafka": (True, False),
    "no Redis": (False, True),
    "neither": (True, True),
}
RESULT_PREFIX: Final = "FLOOR_JSON "
STARTUP_S: Final = 45.0  # a child's allowance beyond its timed seconds: imports, connect, close


@dataclass(frozen=True)
class FloorResult:
    name: str
    calls: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    errors: int = 0
    failure: str | None = None  # why the variant has no figure (killed, crashed, no result)

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu_s / self.calls if self.calls else 0.0


class InstantAdmission:
    """An `Admission` that admits at once without Redis (the no-Redis floor)."""

    records_answers = True

    def __init__(self) -> None:
        self._positions = count(1)

    async def __call__(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck | None = None
    ) -> list[str]:
        return ["ok", f"{request.entry_id}:{next(self._positions)}"]


def parse_result(name: str, stdout: str, returncode: int) -> FloorResult:
    """A child's answer: its last `FLOOR_JSON` line, for the variant asked; a failure otherwise."""
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if returncode != 0 or not lines:
        return FloorResult(name, failure=f"exit code {returncode}, {len(lines)} result lines")
    try:
        data = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
        result = FloorResult(
            name=str(data["name"]),
            calls=int(data["calls"]),
            seconds=float(data["seconds"]),
            cpu_s=float(data["cpu_s"]),
            errors=int(data["errors"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        return FloorResult(name, failure=f"unreadable result: {type(exc).__name__}: {exc}")
    if result.name != name:
        return FloorResult(name, failure=f"result of another variant ({result.name!r})")
    return result


def run_floor(
    name: str, env: dict[str, str], activity_id: UUID, seconds: float, callers: int
) -> FloorResult:
    """One variant in a child process, killed (SIGKILL) if it outlives its allowance."""
    timeout_s = seconds + STARTUP_S
    args = [sys.executable, "-m", "benchmarks.entry_gate.floors"]
    args += [name, str(activity_id), str(seconds), str(callers)]
    try:
        done = subprocess.run(
            args, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as exc:
        _show_stderr(name, exc.stderr)  # with the child's own stack dump (faulthandler)
        return FloorResult(name, failure=f"killed after {timeout_s:.0f} s")
    result = parse_result(name, done.stdout, done.returncode)
    if result.failure is not None:
        _show_stderr(name, done.stderr)
    return result


def _show_stderr(name: str, stderr: str | bytes | None) -> None:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr or ""
    sys.stderr.write(f"floor {name!r} failed; its stderr ends with:\n{text[-6000:]}\n")


async def _drive(
    name: str,
    settings: EntrySettings,
    database: Database,
    async_redis: aioredis.Redis,
    publisher: EventPublisher,
    activity_id: UUID,
    seconds: float,
    callers: int,
) -> tuple[FloorResult, list[UUID]]:
    instant_admission = VARIANTS[name][1]

    def admission(client: aioredis.Redis, warmer: RedisCounterWarmer) -> Admission:
        return InstantAdmission() if instant_admission else ScriptAdmission(client, warmer)

    sync_redis = open_redis(settings.redis.url or "")
    try:
        ports, waiter = entry_ports(
            settings, database, sync_redis, async_redis, publisher, admission
        )
        # Started as the server starts it (its thread polls the decisions topic), and stopped
        # here: its thread closes its Kafka consumer. Left unstarted, that consumer would be
        # closed by the garbage collector, where librdkafka's teardown can hang (it did).
        if waiter is not None:
            waiter.start()
        try:
            return await _timed(name, ports, activity_id, seconds, callers)
        finally:
            if waiter is not None:
                waiter.stop()
    finally:
        close_redis(sync_redis)  # the warmer's client (cold counters only)


async def _timed(
    name: str, ports: EntryPorts, activity_id: UUID, seconds: float, callers: int
) -> tuple[FloorResult, list[UUID]]:
    device = DeviceInfo(device_type=DeviceType.DESKTOP)
    numbers = count()
    answered: list[UUID] = []
    errors = 0
    tag = uuid.uuid4().hex[:8]

    async def caller(deadline: float) -> int:
        nonlocal errors
        done = 0
        while time.monotonic() < deadline:
            n = next(numbers)
            cmd = EntryCommand(
                activity_id=activity_id,
                idempotency_key=f"floor-{tag}-{n}",
                user_token=None,
                user_id=f"floor-{tag}-u{n}",
                site_key=None,
                origin=None,
                client_ip="127.0.0.1",
                device=device,
                now=utc_now(),
                properties={},
            )
            try:
                answered.append((await enter(cmd, ports)).entry_id)
                done += 1
                await asyncio.sleep(0)  # without I/O (the instant variants) let the others run
            except Exception:  # counted and reported: a floor with errors is no floor
                errors += 1
        return done

    await ports.activities.get(activity_id)  # the definition cached, as in the steady state
    await asyncio.gather(*(caller(time.monotonic() + 0.3) for _ in range(callers)))  # warm
    errors = 0
    cpu0, t0 = time.process_time(), time.monotonic()
    calls = sum(await asyncio.gather(*(caller(t0 + seconds) for _ in range(callers))))
    elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
    return FloorResult(name, calls, elapsed, cpu, errors), answered


async def _child(name: str, activity_id: UUID, seconds: float, callers: int) -> FloorResult:
    """One variant on clients of its own, each closed explicitly (never left to the GC)."""
    settings = EntrySettings()
    instant_publisher = VARIANTS[name][0]
    database = Database(make_engine(settings.database.url))
    async_redis = open_async_redis(
        settings.redis.url or "", max_connections=settings.entry_redis_max_connections
    )
    publisher = AcknowledgingPublisher() if instant_publisher else open_publisher(settings.bus)
    answered: list[UUID] = []
    try:
        with serving_gc(settings.entry_gc_tuning):  # as the server does
            result, answered = await _drive(
                name, settings, database, async_redis, publisher, activity_id, seconds, callers
            )
        return result
    finally:
        publisher.close()  # the Kafka producer: poll thread stopped, final flush
        cleanup = open_redis(settings.redis.url or "")
        try:
            # The answers' copies: the scratch cleanup finds copies by the ledger's entry ids,
            # and these reservations never reach the ledger (no core_service runs meanwhile).
            delete_entry_copies(cleanup, answered)
        finally:
            close_redis(cleanup)
        await close_async_redis(async_redis)
        database.dispose()


def main(argv: list[str]) -> int:
    name, activity, seconds, callers = argv
    if name not in VARIANTS:
        sys.stderr.write(f"unknown floor {name!r}; one of {', '.join(VARIANTS)}\n")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    # Where every thread stands, shortly before the parent would kill this process.
    faulthandler.dump_traceback_later(float(seconds) + STARTUP_S - 5, exit=False)
    result = asyncio.run(_child(name, UUID(activity), float(seconds), int(callers)))
    sys.stdout.write(RESULT_PREFIX + json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # everything is closed above: skip the interpreter's teardown (see the top)
