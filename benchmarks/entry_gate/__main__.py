"""Benchmark of the campaign entry gate on the full stack: `python -m benchmarks.entry_gate`.

In one run, on scratch resources removed at the end (see benchmarks/entry_gate/scratch.py):
1. the admission step alone, in this process (benchmarks/entry_gate/steps.py): the ADMIT script
   against a python-redis-lock around read-check-increment, as context;
2. HTTP: one entry_service worker (uvicorn, same settings for both variants) and one
   core_service (`pulse core`) confirming in Postgres; wrk with 1,000 connections posts entries,
   each with its own shopper and Idempotency-Key (5% repeat shoppers), first against the
   lock-per-request baseline (benchmarks/entry_gate/baseline.py), then against the production
   atomic Lua gate. After each variant, once core_service has decided every reservation, it
   checks that nothing was over-booked.
3. (issue 13) the same wrk load on a bare FastAPI app (benchmarks/entry_gate/bare.py): the
   floor, entry_service / bare >= 0.33 is the target; open-loop latency (constant arrival rate
   at half the atomic gate's measured entries/s; p50/p95/p99); the seed's spike: `--spike`
   entries (10,000) arriving within one second, each followed (polling as the snippet does)
   to its final answer, with the production decision wait (benchmarks/entry_gate/phases.py).
4. The floors, to show which component's floor a missed target is: entry_service over HTTP with
   a publisher that acknowledges at once (benchmarks/entry_gate/http_floor.py), and, after
   core_service stopped, `enter()` without HTTP on the production ports, full / no Kafka / no
   Redis / neither, each in a child process killed if it outlives its allowance
   (benchmarks/entry_gate/floors.py). Calls/s and CPU ms per call, against the bare endpoint.
It prints entries/s, p50/p99 and the ratios. Exit code: 0 when every phase ran and nothing was
over-booked (even if a target is missed), 1 on an error, a non-202 answer, any over-booking or
a floor that failed (killed, crashed, or with failed calls), 2 when the benchmark cannot run
here.
"""

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import redis

from benchmarks.common.facts import machine_facts, out
from benchmarks.common.http_load import require_wrk, server
from benchmarks.common.process_cpu import cpu_seconds, uvicorn_pid
from benchmarks.common.scratch import Engines, SetupError
from benchmarks.entry_gate.checks import count_seats, wait_drained
from benchmarks.entry_gate.floors import VARIANTS as FLOOR_VARIANTS
from benchmarks.entry_gate.floors import run_floor
from benchmarks.entry_gate.load import check_sample, run_wrk, write_lua
from benchmarks.entry_gate.phases import (
    HTTP_NO_KAFKA,
    run_bare,
    run_http_without_kafka,
    run_open_loop_phase,
    spike_env,
)
from benchmarks.entry_gate.report import Report, Variant, VariantResult, print_report
from benchmarks.entry_gate.scratch import ActivitySpec, EntryEngines, EntryScratch, entry_scratch
from benchmarks.entry_gate.services import core_env, core_process, entry_env
from benchmarks.entry_gate.steps import StepResult, atomic_step, locked_step
from datastore.engine import make_engine
from entry_service.adapters.redis_warmer import RedisCounterWarmer
from servicekit.database import Database

WARMUP_CAPACITY = 100
STEP_CAPACITY = 100_000_000  # no caller of the step phase reaches it: every call admits
# Lines of the entry server's log worth counting: the gate fell back to the SQL gate (then it is
# not the gate alone that is measured), an entry record was not written, the baseline's lock
# expired while held (mutual exclusion lost), or anything crashed.
LOG_MARKERS = ("entry_gate_fallback", "entry_record_failed", "baseline_lock_expired", "Traceback")


VARIANTS = (
    Variant("baseline", "lock per request", "benchmarks.entry_gate.baseline:create_app"),
    # Before/after of the floors' change: the same server with Python's default cyclic GC
    # (startup objects walked on every full collection, young generation of 700), then as
    # deployed (servicekit/server_gc.py).
    Variant(
        "atomic-gc",
        "atomic, default GC",
        "entry_service.main:create_app",
        (("PULSE_ENTRY_GC_TUNING", "false"),),
    ),
    Variant("atomic", "atomic Lua gate", "entry_service.main:create_app"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.entry_gate", description=__doc__)
    p.add_argument("--seconds", type=int, default=15, help="timed load per variant (default 15)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up per variant, s (default 3)")
    p.add_argument("--connections", type=int, default=1000, help="wrk connections (1000)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--capacity", type=int, default=1000, help="seats per activity (1000)")
    p.add_argument("--timeout", type=int, default=30, help="wrk request timeout, s (30)")
    p.add_argument(
        "--step-seconds", type=int, default=5, help="admission step alone, s (default 5; 0: skip)"
    )
    p.add_argument(
        "--step-concurrency", type=int, default=200, help="callers in the step phase (200)"
    )
    p.add_argument("--open-seconds", type=int, default=10, help="open-loop phase, s (10; 0: skip)")
    p.add_argument("--spike", type=int, default=10_000, help="spike entries in 1 s (0: skip)")
    p.add_argument("--spike-connections", type=int, default=1000, help="client connections (1000)")
    p.add_argument(
        "--floor-seconds",
        type=float,
        default=3,
        help="each in-process floor, s (default 3; 0: skip the floors, HTTP one included)",
    )
    p.add_argument("--floor-callers", type=int, default=50, help="in-process floor callers (50)")
    args = p.parse_args(argv)
    if not 5 <= args.seconds <= 60:
        p.error("--seconds must be between 5 and 60")
    if not 0 <= args.warmup <= 10:
        p.error("--warmup must be between 0 and 10")
    if not 1 <= args.threads <= args.connections <= 5000:
        p.error("need 1 <= --threads <= --connections <= 5000")
    if not 1 <= args.capacity <= 1_000_000:
        p.error("--capacity must be between 1 and 1000000")
    if not 0 <= args.step_seconds <= 30:
        p.error("--step-seconds must be between 0 and 30")
    if not 1 <= args.step_concurrency <= 200:  # the service's async Redis pool holds 200
        p.error("--step-concurrency must be between 1 and 200")
    if not 0 <= args.floor_seconds <= 30:
        p.error("--floor-seconds must be between 0 and 30")
    if not 1 <= args.floor_callers <= 128:  # the service's async Redis pool holds 128
        p.error("--floor-callers must be between 1 and 128")
    return args


def specs(capacity: int) -> list[ActivitySpec]:
    """Per variant, an activity for the step phase, a warm-up one and the timed one, so every
    phase starts from empty counters."""
    out_specs = []
    for v in VARIANTS:
        out_specs.append(ActivitySpec(f"{v.slug}-step", STEP_CAPACITY, per_user_limit=1))
        out_specs.append(ActivitySpec(f"{v.slug}-warmup", WARMUP_CAPACITY, per_user_limit=1))
        out_specs.append(ActivitySpec(v.slug, capacity, per_user_limit=1))
    for phase in ("openloop", "spike"):
        out_specs.append(ActivitySpec(f"{phase}-warmup", WARMUP_CAPACITY, per_user_limit=1))
        out_specs.append(ActivitySpec(phase, capacity, per_user_limit=1))
    # The floors never fill theirs: every call takes the write path.
    for name in (HTTP_NO_KAFKA, *(floor_activity(v) for v in FLOOR_VARIANTS)):
        out_specs.append(ActivitySpec(name, STEP_CAPACITY, per_user_limit=1))
    return out_specs


def floor_activity(variant: str) -> str:
    return "floor-" + variant.replace(" ", "-").lower()


def run_steps(args: argparse.Namespace, s: EntryScratch) -> list[StepResult]:
    steps = {"baseline": locked_step, "atomic": atomic_step}
    results = []
    for v in (x for x in VARIANTS if x.slug in steps):
        out(f"{v.name}: admission step alone, {args.step_seconds} s ...")
        measure = steps[v.slug](
            s.engines.redis,
            s.activities[f"{v.slug}-step"],
            STEP_CAPACITY,
            args.step_concurrency,
            args.step_seconds,
        )
        results.append(asyncio.run(measure))
    return results


def warm_counters(s: EntryScratch) -> None:
    """Steady state before any load: every activity's gate counters are in Redis."""
    client = redis.Redis.from_url(s.engines.redis, socket_timeout=5)
    database = Database(make_engine(s.database_url))
    try:
        warmer = RedisCounterWarmer(client, database)
        for activity_id in s.activities.values():
            warmer.warm(activity_id)
    finally:
        database.dispose()
        client.close()


def run_variant(
    v: Variant, s: EntryScratch, args: argparse.Namespace, wrk: str, tmp: Path, core_pid: int
) -> VariantResult:
    tag = f"{v.slug}-{s.run_id}"
    warm_id, timed_id = s.activities[f"{v.slug}-warmup"], s.activities[v.slug]
    log = tmp / f"entry-{v.slug}.log"
    common = {"connections": args.connections, "threads": args.threads, "timeout_s": args.timeout}
    with server(v.factory, {**entry_env(s, tmp / "data"), **dict(v.env)}, log) as url:
        pid = uvicorn_pid(url)
        check_sample(url, warm_id, f"{tag}-sample")
        if args.warmup:
            out(f"  {v.name}: {args.warmup} s warm-up on its own activity ...")
            lua = write_lua(tmp, warm_id, f"w{tag}")
            run_wrk(wrk, v.name, url, lua, seconds=args.warmup, **common)
        wait_drained(s)  # core_service idle again before the clock starts
        out(f"  {v.name}: {args.seconds} s timed load ...")
        lua = write_lua(tmp, timed_id, tag)
        server0, core0, t0 = cpu_seconds(pid), cpu_seconds(core_pid), time.monotonic()
        load = run_wrk(wrk, v.name, url, lua, seconds=args.seconds, **common)
        elapsed = time.monotonic() - t0
        server_cores = (cpu_seconds(pid) - server0) / elapsed
        core_cores = (cpu_seconds(core_pid) - core0) / elapsed
    out(f"  {v.name}: waiting for core_service to decide every reservation ...")
    drain_s = wait_drained(s)
    text = log.read_text(errors="replace")
    return VariantResult(
        variant=v,
        load=load,
        seats=count_seats(s, timed_id),
        warmup_seats=count_seats(s, warm_id),
        server_cores=server_cores,
        core_cores=core_cores,
        drain_s=drain_s,
        log_counts={m: text.count(m) for m in LOG_MARKERS},
    )


def run(args: argparse.Namespace, engines: EntryEngines, wrk: str, report: Report) -> None:
    with (
        entry_scratch(engines, specs(args.capacity)) as s,
        tempfile.TemporaryDirectory(prefix="pulse-bench-entry-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        out(f"scratch: database pulse_bench_entry_{s.run_id}, topics {s.topic_prefix}*")
        warm_counters(s)
        if args.step_seconds:
            report.steps = run_steps(args, s)
        out("bare FastAPI (the floor) ...")
        report.bare = run_bare(args, s, wrk, tmp)
        with core_process(core_env(s, tmp / "data"), tmp / "core.log") as core_pid:
            for v in VARIANTS:
                out(f"{v.name} ({v.factory}) ...")
                report.results.append(run_variant(v, s, args, wrk, tmp, core_pid))
            if args.floor_seconds:
                out("entry_service, Kafka acknowledging at once (a floor) ...")
                report.http_floors.append(run_http_without_kafka(args, s, wrk, tmp))
            run_issue13_phases(args, s, tmp, report)
        if args.floor_seconds:  # after core_service: nothing else competes with them
            env = entry_env(s, tmp / "data")
            for name in FLOOR_VARIANTS:
                out(f"floor without HTTP, {name}: {args.floor_seconds:g} s in a child process ...")
                activity = s.activities[floor_activity(name)]
                floor = run_floor(name, env, activity, args.floor_seconds, args.floor_callers)
                report.floors.append(floor)


def run_issue13_phases(args: argparse.Namespace, s: EntryScratch, tmp: Path, r: Report) -> None:
    atomic = next((x for x in r.results if x.variant.slug == "atomic"), None)
    rate = atomic.load.per_second / 2 if atomic is not None else 0.0
    if args.open_seconds and rate > 0:
        r.phases.append(
            run_open_loop_phase(
                "open loop at half capacity",
                s,
                "openloop",
                entry_env(s, tmp / "data"),
                tmp / "entry-openloop.log",
                rate=rate,
                count=max(1, round(rate * args.open_seconds)),
                connections=args.connections,
                follow=False,
            )
        )
    if args.spike:
        r.phases.append(
            run_open_loop_phase(
                "spike",
                s,
                "spike",
                spike_env(s, tmp / "data"),
                tmp / "entry-spike.log",
                rate=float(args.spike),
                count=args.spike,
                connections=args.spike_connections,
                follow=True,
            )
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    try:
        wrk = require_wrk()
        engines = EntryEngines.from_env()
    except SetupError as exc:
        sys.stderr.write(f"benchmark cannot run: {exc}\n")
        return 2
    es = os.environ.get("PULSE_ELASTICSEARCH_URL", "")
    facts = machine_facts(Engines(engines.database_url, engines.kafka, es, engines.redis), wrk)
    facts.pop("elasticsearch", None)  # not used here
    report = Report(args, facts)
    try:
        run(args, engines, wrk, report)
    except Exception:
        traceback.print_exc()
        sys.stderr.write("benchmark failed; the figures measured so far follow\n")
        print_report(report)
        return 1
    print_report(report)
    bad = [f"{r.variant.name}: {v}" for r in report.results for v in r.violations()]
    bad += [f"{r.name} (step phase): {v}" for r in report.steps for v in r.violations()]
    bad += [f"{p.name}: {v}" for p in report.phases for v in p.seats.violations()]
    bad += [
        f"{f.name}: {f.load.non_202} responses were not 202"
        for f in [*([report.bare] if report.bare else []), *report.http_floors]
        if f.load.non_202
    ]
    bad += [f"floor {f.name}: {f.failure}" for f in report.floors if f.failure]
    bad += [f"floor {f.name}: {f.errors} calls failed" for f in report.floors if f.errors]
    bad += [
        f"{r.variant.name}: {r.load.non_202} responses were not 202"
        for r in report.results
        if r.load.non_202
    ]
    for line in bad:
        sys.stderr.write(f"error: {line}\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
