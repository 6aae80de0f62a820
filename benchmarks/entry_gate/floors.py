"""Each component's floor, in the benchmark process: the entry decision without FastAPI.

The production domain call (`entry_service.domain.entries.enter`) on the production ports
(`entry_service.wiring.entry_ports`), `concurrency` callers for `seconds`, every call a new
shopper into an activity it never fills, in four variants:

- full: Redis script + Kafka publish and its delivery wait (the HTTP request minus HTTP);
- no Kafka: the publisher answers at once (`InstantPublisher`);
- no Redis: the admission step answers "ok" at once (`InstantAdmission`), nothing else in
  Redis on this path (the answer's copy is the script's, skipped with it);
- neither: what the domain and the gate cost in Python alone.

calls/s and CPU ms per call (this process's CPU, librdkafka's threads included) show where a
request's time goes; the HTTP figures of the same run add FastAPI/uvicorn on top.
"""

import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Final
from uuid import UUID

import redis
import redis.asyncio as aioredis

from benchmarks.common.facts import out
from benchmarks.entry_gate.scratch import ActivitySpec, EntryEngines, EntryScratch, entry_scratch
from benchmarks.entry_gate.services import entry_env
from common_messaging import DeviceInfo, DeviceType, EntryRequested, EventPublisher, OutgoingMessage
from common_messaging.bus import open_publisher
from datastore.engine import make_engine
from entry_service.adapters.redis_entry_gate import Admission, ScriptAdmission
from entry_service.adapters.redis_gate_scripts import entry_key
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from entry_service.domain.entries import ActivityView, EntryCommand, RateCheck, enter
from entry_service.settings import EntrySettings
from entry_service.wiring import entry_ports
from servicekit.clock import utc_now
from servicekit.database import Database
from servicekit.redis_client import close_async_redis, close_redis, open_async_redis, open_redis

VARIANTS: Final = ("full", "no Kafka", "no Redis", "neither")


@dataclass(frozen=True)
class FloorResult:
    name: str
    calls: int
    seconds: float
    cpu_s: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu_s / self.calls if self.calls else 0.0


class InstantPublisher:
    """An `EventPublisher` that stores nothing and answers at once (the no-Kafka floor)."""

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        return None

    def publish_sync(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        return None

    def close(self) -> None:
        return None


class InstantAdmission:
    """An `Admission` that admits at once without Redis (the no-Redis floor)."""

    records_answers = True

    def __init__(self) -> None:
        self._positions = count(1)

    async def __call__(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck | None = None
    ) -> list[str]:
        return ["ok", f"{request.entry_id}:{next(self._positions)}"]


def _settings(env: dict[str, str]) -> EntrySettings:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return EntrySettings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def _measure(
    name: str,
    settings: EntrySettings,
    database: Database,
    async_redis: aioredis.Redis,
    publisher: EventPublisher,
    instant_admission: bool,
    activity_id: UUID,
    *,
    concurrency: int,
    seconds: float,
) -> FloorResult:
    sync_redis = open_redis(settings.redis.url or "")
    answered: list[UUID] = []
    try:

        def admission(client: aioredis.Redis, warmer: RedisCounterWarmer) -> Admission:
            return InstantAdmission() if instant_admission else ScriptAdmission(client, warmer)

        ports, _ = entry_ports(settings, database, sync_redis, async_redis, publisher, admission)
        device = DeviceInfo(device_type=DeviceType.DESKTOP)
        numbers = count()
        errors = 0
        tag = uuid.uuid4().hex[:8]
        deadline = time.monotonic() + seconds

        async def caller() -> int:
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
                    await asyncio.sleep(0)  # without I/O (the instant variants) let others run
                except Exception:  # counted, reported: a floor with errors is no floor
                    errors += 1
            return done

        await ports.activities.get(activity_id)  # the definition cached, as in steady state
        cpu0, t0 = time.process_time(), time.monotonic()
        calls = sum(await asyncio.gather(*(caller() for _ in range(concurrency))))
        elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
        return FloorResult(name, calls, elapsed, cpu, errors)
    finally:
        # The script's answer copies: the no-Kafka ones never reach the ledger, whose ids the
        # scratch cleanup deletes, so every floor deletes its own.
        for start in range(0, len(answered), 1000):
            sync_redis.delete(*(entry_key(i) for i in answered[start : start + 1000]))
        close_redis(sync_redis)


async def _one(
    name: str, env: dict[str, str], activity_id: UUID, concurrency: int, seconds: float
) -> FloorResult:
    """One variant on clients of its own (its own event loop, pools and producer)."""
    settings = _settings(env)
    database = Database(make_engine(settings.database.url))
    async_redis = open_async_redis(
        settings.redis.url or "", max_connections=settings.entry_redis_max_connections
    )
    kafka = open_publisher(settings.bus)
    try:
        publisher = InstantPublisher() if name in ("no Kafka", "neither") else kafka
        return await _measure(
            name,
            settings,
            database,
            async_redis,
            publisher,
            name in ("no Redis", "neither"),
            activity_id,
            concurrency=concurrency,
            seconds=seconds,
        )
    finally:
        kafka.close()
        await close_async_redis(async_redis)
        database.dispose()


def floor_specs() -> list[str]:
    """One activity per variant (the no-Redis positions are not the gate's)."""
    return [f"floor-{i}" for i in range(len(VARIANTS))]


def run_floors(
    s: EntryScratch, env: dict[str, str], concurrency: int, seconds: float
) -> list[FloorResult]:
    activities = [s.activities[name] for name in floor_specs()]
    return [
        asyncio.run(_one(name, env, activity, concurrency, seconds))
        for name, activity in zip(VARIANTS, activities, strict=True)
    ]


def print_floors(results: list[FloorResult], concurrency: int, http_atomic: float | None) -> None:
    out()
    out(
        f"Floors: the entry decision without FastAPI (domain `enter` on the production ports, "
        f"{concurrency} callers, this process)"
    )
    out(f"{'variant':<18}{'calls/s':>10}{'CPU ms/call':>13}{'calls':>10}{'errors':>8}")
    for x in results:
        out(
            f"{x.name:<18}{x.per_second:>10,.0f}{x.cpu_ms_per_call:>13.3f}{x.calls:>10,}"
            f"{x.errors:>8}"
        )
    if http_atomic:
        full = next((x for x in results if x.name == "full"), None)
        if full is not None and full.per_second:
            share = http_atomic / full.per_second
            out(f"  HTTP atomic entries/s / full floor calls/s: {share:.2f} (FastAPI + uvicorn)")


def main() -> None:
    """`python -m benchmarks.entry_gate.floors [seconds] [callers]`: the floors alone, on a
    scratch database, topics and keys of their own (removed at the end)."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    specs = [ActivitySpec(name, 100_000_000, per_user_limit=1) for name in floor_specs()]
    with (
        entry_scratch(EntryEngines.from_env(), specs) as s,
        tempfile.TemporaryDirectory(prefix="pulse-bench-floors-") as tmp,
    ):
        warm = redis.Redis.from_url(s.engines.redis, socket_timeout=5)
        database = Database(make_engine(s.database_url))
        try:
            for activity_id in s.activities.values():
                RedisCounterWarmer(warm, database).warm(activity_id)
        finally:
            database.dispose()
            warm.close()
        print_floors(
            run_floors(s, entry_env(s, Path(tmp) / "data"), concurrency, seconds), concurrency, None
        )
    for key, fact in machine_facts_short().items():
        out(f"  {key:<40}{fact}")


def machine_facts_short() -> dict[str, str]:
    return {
        "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


if __name__ == "__main__":
    main()
