"""The issue-13 phases of the entry benchmark: the HTTP floors (the bare FastAPI endpoint, and
entry_service with a publisher that acknowledges at once, each with its server's CPU),
open-loop latency at half the measured capacity, and the seed's spike (10,000 entries arriving
within one second) followed to every shopper's final answer."""

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import redis

from benchmarks.common.facts import out
from benchmarks.common.http_load import LoadError, server
from benchmarks.common.process_cpu import cpu_seconds, uvicorn_pid
from benchmarks.entry_gate.checks import Seats, count_seats, wait_drained
from benchmarks.entry_gate.http_floor import ACKED_IDS_ENV
from benchmarks.entry_gate.http_floor import FACTORY as HTTP_FLOOR_FACTORY
from benchmarks.entry_gate.load import GateLoad, check_sample, run_wrk, write_lua
from benchmarks.entry_gate.open_loop import EntryRequest, OpenLoopResult, run_open_loop
from benchmarks.entry_gate.scratch import EntryScratch, delete_entry_copies
from benchmarks.entry_gate.services import entry_env

BARE_FACTORY = "benchmarks.entry_gate.bare:create_app"
ATOMIC_FACTORY = "entry_service.main:create_app"
HTTP_NO_KAFKA = "http-no-kafka"  # the activity of the HTTP floor without Kafka


@dataclass
class OpenLoopPhase:
    name: str
    result: OpenLoopResult
    seats: Seats
    server_cores: float
    fallbacks: int
    confirm_wait: str


@dataclass(frozen=True)
class HttpFloor:
    """One server under the timed wrk load, with its CPU: the HTTP rows of the floors."""

    name: str
    factory: str
    load: GateLoad
    server_cores: float

    @property
    def per_second(self) -> float:
        return self.load.per_second

    @property
    def cpu_ms_per_request(self) -> float:
        rate = self.load.per_second
        return 1000 * self.server_cores / rate if rate else 0.0


def run_http_floor(
    name: str,
    factory: str,
    env: dict[str, str],
    activity: UUID,
    args: argparse.Namespace,
    wrk: str,
    tmp: Path,
) -> HttpFloor:
    """The same wrk load (warm-up, then timed) on `factory`, sampling the server's CPU."""
    slug = name.replace(" ", "-").replace(",", "").lower()
    tag = f"{slug}-{uuid.uuid4().hex[:8]}"
    common = {"connections": args.connections, "threads": args.threads, "timeout_s": args.timeout}
    with server(factory, env, tmp / f"{slug}.log") as url:
        pid = uvicorn_pid(url)
        check_sample(url, activity, f"{tag}-sample")
        if args.warmup:
            lua = write_lua(tmp, activity, f"w{tag}")
            run_wrk(wrk, name, url, lua, seconds=args.warmup, **common)
        out(f"  {name}: {args.seconds} s timed load ...")
        lua = write_lua(tmp, activity, tag)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        load = run_wrk(wrk, name, url, lua, seconds=args.seconds, **common)
        cores = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    return HttpFloor(name, factory, load, cores)


def run_bare(args: argparse.Namespace, s: EntryScratch, wrk: str, tmp: Path) -> HttpFloor:
    """The floor: the same wrk load on a FastAPI app that only parses and answers."""
    activity = s.activities["atomic"]  # any id: the bare app stores nothing
    env = entry_env(s, tmp / "data")
    return run_http_floor("bare FastAPI", BARE_FACTORY, env, activity, args, wrk, tmp)


def run_http_without_kafka(
    args: argparse.Namespace, s: EntryScratch, wrk: str, tmp: Path
) -> HttpFloor:
    """entry_service with a publisher that acknowledges at once (benchmarks/entry_gate/
    http_floor.py), then the Redis copies of its answers deleted (the ledger never saw them)."""
    ids = tmp / "acked-entry-ids.txt"
    env = {**entry_env(s, tmp / "data"), ACKED_IDS_ENV: str(ids)}
    activity = s.activities[HTTP_NO_KAFKA]
    try:
        return run_http_floor("entry, no Kafka", HTTP_FLOOR_FACTORY, env, activity, args, wrk, tmp)
    finally:
        if ids.exists():
            client = redis.Redis.from_url(s.engines.redis, socket_timeout=5)
            try:
                delete_entry_copies(client, (UUID(x) for x in ids.read_text().split()))
            finally:
                client.close()


def _entry(activity: str, tag: str) -> EntryRequest:
    path = f"/v1/activities/{activity}/entries"
    headers = {"Content-Type": "application/json"}

    def make(i: int) -> tuple[str, dict[str, str], bytes]:
        body = json.dumps({"user_id": f"{tag}-u{i}"}).encode()
        return path, {**headers, "Idempotency-Key": f"{tag}-k{i}"}, body

    return make


def run_open_loop_phase(
    name: str,
    s: EntryScratch,
    activity_key: str,
    env: dict[str, str],
    log: Path,
    *,
    rate: float,
    count: int,
    connections: int,
    follow: bool,
) -> OpenLoopPhase:
    activity = s.activities[activity_key]
    wait_drained(s)
    with server(ATOMIC_FACTORY, env, log) as url:
        pid = uvicorn_pid(url)
        _sample(url, s.activities[f"{activity_key}-warmup"], f"{activity_key}-{s.run_id}")
        out(f"  {name}: {count:,} entries at {rate:,.0f}/s open loop ...")
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        result = asyncio.run(
            run_open_loop(
                url,
                _entry(str(activity), f"{activity_key}-{s.run_id}"),
                rate=rate,
                count=count,
                connections=connections,
                follow=follow,
            )
        )
        cores = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    wait_drained(s)
    text = log.read_text(errors="replace")
    return OpenLoopPhase(
        name=name,
        result=result,
        seats=count_seats(s, activity),
        server_cores=cores,
        fallbacks=text.count("entry_gate_fallback"),
        confirm_wait=env.get("PULSE_ENTRY_CONFIRM_WAIT_S", "default (2 s)"),
    )


def _sample(url: str, activity: UUID, user_id: str) -> dict[str, object]:
    """One entry before the load: a 202 `reserved`, or `confirmed` when the server waits for
    the ledger's decision (the spike's production setting)."""
    answer = httpx.post(
        f"{url}/v1/activities/{activity}/entries",
        json={"user_id": user_id},
        headers={"Idempotency-Key": f"{user_id}-sample"},
        timeout=30,
    )
    body: dict[str, object] = answer.json() if answer.content else {}
    if answer.status_code != 202 or body.get("status") not in ("reserved", "confirmed"):
        raise LoadError(f"sample entry answered {answer.status_code} {answer.text[:500]}")
    return body


def spike_env(s: EntryScratch, data_dir: Path) -> dict[str, str]:
    """Production's decision wait (2 s) this time: the shopper's final answer is the figure."""
    env = entry_env(s, data_dir)
    env.pop("PULSE_ENTRY_CONFIRM_WAIT_S")
    return env


def print_phase(p: OpenLoopPhase) -> None:
    r = p.result
    out()
    out(
        f"{p.name}: {len(r.shots):,} entries at {r.rate:,.0f}/s open loop "
        f"(PULSE_ENTRY_CONFIRM_WAIT_S={p.confirm_wait})"
    )
    out(
        f"  latency from due time, ms: p50 {r.latency_ms(50):,.1f}  p95 {r.latency_ms(95):,.1f}"
        f"  p99 {r.latency_ms(99):,.1f}  max {r.latency_ms(100):,.1f}"
    )
    out(
        f"  client send lag, ms: p99 {r.send_lag_ms(99):,.1f}  max {r.send_lag_ms(100):,.1f}"
        f"   non-202/errors {r.errors}   entry_service CPU {p.server_cores:.2f} cores"
    )
    out("  outcomes: " + ", ".join(f"{k} {n:,}" for k, n in r.outcomes().items()))
    if any(s.final for s in r.shots):
        polls = sum(s.polls for s in r.shots)
        out(
            f"  last final answer {r.last_final_s:,.2f} s after the first entry was due "
            f"({polls:,} polls of GET /v1/entries/<id>)"
        )
    bad = p.seats.violations()
    out(
        f"  Postgres confirmed {p.seats.confirmed_rows:,} of {p.seats.capacity:,}; SQL fallbacks "
        f"{p.fallbacks}; over-booking: {'none' if not bad else 'VIOLATED: ' + '; '.join(bad)}"
    )
