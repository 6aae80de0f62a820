"""The entry-gate benchmark's printed report: figures per variant, seat checks, the ratio."""

import argparse
from dataclasses import dataclass, field

from benchmarks.common.facts import out, verdict
from benchmarks.entry_gate.checks import Seats
from benchmarks.entry_gate.floors import FloorResult
from benchmarks.entry_gate.load import REPEAT_EVERY, REPEAT_POOL, GateLoad
from benchmarks.entry_gate.phases import HttpFloor, OpenLoopPhase, print_phase
from benchmarks.entry_gate.services import RATE_LIMIT_PER_IP, RATE_LIMIT_PER_USER
from benchmarks.entry_gate.steps import StepResult

TARGET = 5.0
BARE_TARGET = 0.33  # issue 13: entries/s against the bare FastAPI endpoint, per worker
P99_TARGET_MS = 100.0  # issue 13: open-loop p99 at half the measured capacity


@dataclass(frozen=True)
class Variant:
    slug: str
    name: str
    factory: str
    env: tuple[tuple[str, str], ...] = ()  # on top of the shared entry environment


@dataclass
class VariantResult:
    variant: Variant
    load: GateLoad
    seats: Seats
    warmup_seats: Seats
    server_cores: float
    core_cores: float
    drain_s: float
    log_counts: dict[str, int]

    def violations(self) -> list[str]:
        bad = [f"timed activity: {v}" for v in self.seats.violations()]
        return bad + [f"warm-up activity: {v}" for v in self.warmup_seats.violations()]


@dataclass
class Report:
    args: argparse.Namespace
    facts: dict[str, str]
    results: list[VariantResult] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    bare: HttpFloor | None = None
    phases: list[OpenLoopPhase] = field(default_factory=list)
    http_floors: list[HttpFloor] = field(default_factory=list)
    floors: list[FloorResult] = field(default_factory=list)


def bare_ratio(r: Report) -> float | None:
    atomic = next((x for x in r.results if x.variant.slug == "atomic"), None)
    if atomic is None or r.bare is None or not r.bare.per_second:
        return None
    return atomic.load.per_second / r.bare.per_second


def bare_cpu_ratio(r: Report) -> float | None:
    """Entries per CPU second over the bare endpoint's requests per CPU second: the ratio
    when neither server has to share its core (on a loaded machine the throughput ratio also
    measures how much CPU each got)."""
    atomic = next((x for x in r.results if x.variant.slug == "atomic"), None)
    if atomic is None or r.bare is None or not atomic.server_cores:
        return None
    cost = cpu_ms_per_request(atomic)
    return r.bare.cpu_ms_per_request / cost if cost else None


def cpu_ms_per_request(res: VariantResult) -> float:
    rate = res.load.per_second
    return 1000 * res.server_cores / rate if rate else 0.0


def ratio(results: list[VariantResult], over: str = "baseline") -> float | None:
    """The atomic variant's entries/s over another variant's (by slug), same run."""
    by = {r.variant.slug: r for r in results}
    atomic, base = by.get("atomic"), by.get(over)
    if atomic is None or base is None or not base.load.per_second:
        return None
    return atomic.load.per_second / base.load.per_second


def gc_tuning_ratio(results: list[VariantResult]) -> float | None:
    return ratio(results, over="atomic-gc")


def step_ratio(steps: list[StepResult]) -> float | None:
    by = {r.name: r for r in steps}
    atomic, base = by.get("atomic Lua gate"), by.get("lock per request")
    if atomic is None or base is None or not base.per_second:
        return None
    return atomic.per_second / base.per_second


def print_report(r: Report) -> None:
    a = r.args
    out()
    out(f"Pulse entry gate benchmark: {a.connections:,} connections, one entry_service worker")
    out("-" * 86)
    if r.results:
        out(f"load: {r.results[0].load.command}, per variant,")
        out(f"  after a {a.warmup} s warm-up on a separate activity of the same server")
    out("  POST /v1/activities/<id>/entries on a demo site: every request its own user_id and")
    out(
        f"  Idempotency-Key; 1 in {REPEAT_EVERY} from one of the thread's first {REPEAT_POOL} users"
    )
    out(f"  activity: capacity {a.capacity:,}, per-user limit 1")
    out("  uvicorn 1 worker, uvloop, httptools, no access log; same env for every variant")
    for res in r.results:
        for key, value in res.variant.env:
            out(f"  (but {key}={value} for `{res.variant.name}`)")
    out("  of them:")
    out("  PULSE_ENTRY_CONFIRM_WAIT_S=0 (answer `reserved` without waiting for core_service),")
    out(f"  rate limits {RATE_LIMIT_PER_IP:,} per IP and {RATE_LIMIT_PER_USER:,} per user per 10 s")
    out()
    out(
        f"{'variant':<18}{'entries/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'requests':>10}{'non-202':>9}{'sock err':>9}"
    )
    loads = [(res.variant.name, res.load) for res in r.results]
    if r.bare is not None:
        loads.insert(0, ("bare FastAPI", r.bare.load))
    loads += [(f.name, f.load) for f in r.http_floors]
    for name, x in loads:
        out(
            f"{name:<18}{x.per_second:>10,.0f}{x.p50_ms:>9.1f}{x.p90_ms:>9.1f}"
            f"{x.p99_ms:>9.1f}{x.max_ms:>9.1f}{x.requests:>10,}{x.non_202:>9}"
            f"{x.socket_errors:>9}"
        )
    for res in r.results:
        _print_variant(res)
    if r.steps:
        _print_steps(r)
    for phase in r.phases:
        print_phase(phase)
    if r.http_floors or r.floors:
        _print_floors(r)
    _print_ratios(r)

    out()
    out("Summary")
    for key, text in summary(r).items():
        out(f"  {key} = {text}")
    out()
    out("Machine")
    for key, fact in r.facts.items():
        out(f"  {key:<40}{fact}")


def _print_ratios(r: Report) -> None:
    value = ratio(r.results)
    out()
    out("Ratio (same run, same machine)")
    floor = bare_ratio(r)
    if floor is not None:
        out(
            f"  atomic / bare FastAPI, HTTP entries/s         {floor:>6.2f}   "
            f"target >= {BARE_TARGET:.2f} {verdict(floor, BARE_TARGET)}"
        )
    per_cpu = bare_cpu_ratio(r)
    if per_cpu is not None:
        out(
            f"  the same per CPU second (bare / atomic CPU ms) {per_cpu:>6.2f}   "
            "what each would serve on a core of its own (context)"
        )
    for phase in r.phases:
        if phase.name.startswith("open loop"):
            p99 = phase.result.latency_ms(99)
            out(
                f"  open-loop p99 at half capacity, ms    {p99:>10,.1f}   "
                f"target <= {P99_TARGET_MS:.0f}  {verdict(P99_TARGET_MS, p99)}"
            )
        else:
            out(f"  spike: last final answer, s           {phase.result.last_final_s:>10.2f}")
    if value is not None:
        out(
            f"  atomic / lock per request, HTTP entries/s     {value:>6.2f}   "
            f"target >= {TARGET:.0f}  {verdict(value, TARGET)} (issue 4; context now)"
        )
    steps = step_ratio(r.steps)
    if steps is not None:
        out(f"  atomic / lock per request, step alone calls/s {steps:>6.2f}   context only")
    frozen = gc_tuning_ratio(r.results)
    if frozen is not None:
        out(f"  atomic / atomic with the default GC, entries/s {frozen:>6.2f}   this change")


def _print_floors(r: Report) -> None:
    bare = r.bare.per_second if r.bare is not None else 0.0
    out()
    out("Floors (same run): what an entry request costs without each component")
    out(f"{'variant':<44}{'calls/s':>9}{'CPU ms/call':>13}{'/ bare':>8}")
    rows: list[tuple[str, float, float]] = []
    if r.bare is not None:
        rows.append(("HTTP  bare FastAPI", r.bare.per_second, r.bare.cpu_ms_per_request))
    for res in r.results:
        if res.variant.slug in ("atomic", "atomic-gc"):
            label = f"HTTP  entry_service ({res.variant.name})"
            rows.append((label, res.load.per_second, cpu_ms_per_request(res)))
    for f in r.http_floors:
        rows.append((f"HTTP  {f.name}", f.per_second, f.cpu_ms_per_request))
    for x in r.floors:
        label = f"enter() {x.name}"
        if x.failure is not None:
            out(f"{label:<44}  FAILED: {x.failure}")
            continue
        errors = f" ({x.errors} errors)" if x.errors else ""
        rows.append((label + errors, x.per_second, x.cpu_ms_per_call))
    for label, rate, cpu in rows:
        share = f"{rate / bare:>8.2f}" if bare else f"{'-':>8}"
        out(f"{label:<44}{rate:>9,.0f}{cpu:>13.3f}{share}")
    out(
        f"  HTTP: one uvicorn worker, the same wrk load; CPU = the server process's. enter(): "
        f"{r.args.floor_callers} callers, {r.args.floor_seconds:g} s, each variant a child"
    )
    out("  process of its own (CPU = its whole process, librdkafka threads included)")
    parts = cost_breakdown(r)
    if parts:
        out("  CPU ms per request by component (differences of the rows above):")
        for name, ms in parts.items():
            out(f"    {name:<58}{ms:>8.3f}")


def cost_breakdown(r: Report) -> dict[str, float]:
    """Each component's CPU per request, as the difference its stand-in made."""
    floors = {x.name: x.cpu_ms_per_call for x in r.floors if x.failure is None and x.calls}
    atomic = next((x for x in r.results if x.variant.slug == "atomic"), None)
    parts: dict[str, float] = {}
    if atomic is not None and "full" in floors:
        parts["HTTP (uvicorn, FastAPI, middleware, route): HTTP - full"] = (
            cpu_ms_per_request(atomic) - floors["full"]
        )
    if r.bare is not None:
        parts["  of which the bare endpoint's own"] = r.bare.cpu_ms_per_request
    if "full" in floors and "no Redis" in floors:
        parts["Redis script (client + server round trip): full - no Redis"] = (
            floors["full"] - floors["no Redis"]
        )
    if "full" in floors and "no Kafka" in floors:
        parts["Kafka publish + delivery wait: full - no Kafka"] = (
            floors["full"] - floors["no Kafka"]
        )
    if "neither" in floors:
        parts["domain + gate Python: neither"] = floors["neither"]
    return parts


def _print_steps(r: Report) -> None:
    out()
    out(
        f"Admission step alone (no HTTP, Kafka or Postgres): {r.args.step_concurrency} callers "
        f"in one process, {r.args.step_seconds} s each,"
    )
    out("  every call a new user into an activity it never fills (the write path every time)")
    out(f"{'variant':<18}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'calls':>10}  no lost update")
    for x in r.steps:
        bad = x.violations()
        check = "yes" if not bad else "NO: " + "; ".join(bad)
        out(
            f"{x.name:<18}{x.per_second:>10,.0f}{x.p50_ms:>9.2f}{x.p99_ms:>9.2f}{x.calls:>10,}"
            f"  {check} (counter {x.counter}, {x.distinct_positions:,} distinct positions)"
        )


def _print_variant(res: VariantResult) -> None:
    ans = res.load.answers
    out()
    out(f"{res.variant.name} ({res.variant.factory})")
    out(
        f"  answers: reserved {ans.get('reserved', 0):,}, sold_out {ans.get('sold_out', 0):,}, "
        f"already_entered {ans.get('already_entered', 0):,}, "
        f"confirmed {ans.get('confirmed', 0):,}, other {ans.get('other', 0):,}; "
        f"429 {ans.get('s429', 0)}, 5xx {ans.get('s5xx', 0)}; shed as busy (503 "
        f"entry_gate_busy, not counted as entries) {res.load.busy:,}"
    )
    out(
        f"  CPU under load: entry_service {res.server_cores:.2f} cores, core_service "
        f"{res.core_cores:.2f} cores"
    )
    out("  entry_service log: " + ", ".join(f"{k} {n}" for k, n in res.log_counts.items()))
    fallbacks = res.log_counts.get("entry_gate_fallback", 0)
    if fallbacks:
        out(
            f"  WARNING: {fallbacks:,} requests fell back to the SQL gate (Redis errors): these "
            "figures are not the gate's alone"
        )
    out(f"  core_service decided every reservation {res.drain_s:.1f} s after the load")
    for label, seats in (("timed", res.seats), ("warm-up", res.warmup_seats)):
        bad = seats.violations()
        refused = ", ".join(f"{k} {n}" for k, n in sorted(seats.rejected.items())) or "none"
        out(
            f"  {label} activity, capacity {seats.capacity:,}: Postgres confirmed "
            f"{seats.confirmed_rows:,} (confirmed_count {seats.confirmed_count:,}, "
            f"{seats.distinct_positions:,} distinct positions),"
        )
        out(
            f"    max per user {seats.max_per_user}, Redis gate count {seats.redis_count}, "
            f"refused by Postgres: {refused}"
        )
        out(f"    over-booking: {'none' if not bad else 'VIOLATED: ' + '; '.join(bad)}")


def _floor_summary(r: Report) -> dict[str, str]:
    s = {}
    if r.bare is not None:
        s["bare_entries_per_s"] = f"{r.bare.per_second:.0f}"
        s["bare_cpu_ms"] = f"{r.bare.cpu_ms_per_request:.3f}"
    for res in r.results:
        s[f"{res.variant.slug}_cpu_ms"] = f"{cpu_ms_per_request(res):.3f}"
    for f in r.http_floors:
        s["http_no_kafka_entries_per_s"] = f"{f.per_second:.0f}"
        s["http_no_kafka_cpu_ms"] = f"{f.cpu_ms_per_request:.3f}"
    for fl in r.floors:
        key = "floor_" + fl.name.replace(" ", "_").lower()
        s[key] = fl.failure or f"{fl.per_second:.0f}/s, {fl.cpu_ms_per_call:.3f} CPU ms/call"
    return s


def summary(r: Report) -> dict[str, str]:
    s = {"connections": str(r.args.connections), "seconds": str(r.args.seconds)}
    for res in r.results:
        k, x = res.variant.slug, res.load
        s[f"{k}_entries_per_s"] = f"{x.per_second:.0f}"
        s[f"{k}_p50_ms"] = f"{x.p50_ms:.1f}"
        s[f"{k}_p99_ms"] = f"{x.p99_ms:.1f}"
        s[f"{k}_non_202"] = str(x.non_202)
        s[f"{k}_shed_busy"] = str(x.busy)
        s[f"{k}_socket_errors"] = str(x.socket_errors)
        s[f"{k}_confirmed"] = f"{res.seats.confirmed_rows}/{res.seats.capacity}"
        s[f"{k}_overbooked"] = "no" if not res.violations() else "YES"
    for step in r.steps:
        k = "atomic" if step.name == "atomic Lua gate" else "baseline"
        s[f"step_{k}_calls_per_s"] = f"{step.per_second:.0f}"
    floor = bare_ratio(r)
    s.update(_floor_summary(r))
    if floor is not None:
        s["ratio_atomic_over_bare"] = f"{floor:.2f} ({verdict(floor, BARE_TARGET)})"
    per_cpu = bare_cpu_ratio(r)
    if per_cpu is not None:
        s["ratio_atomic_over_bare_per_cpu_second"] = f"{per_cpu:.2f} (context)"
    for phase in r.phases:
        key = "openloop" if phase.name.startswith("open loop") else "spike"
        shots = phase.result
        s[f"{key}_rate"] = f"{shots.rate:.0f}"
        s[f"{key}_p50_p95_p99_ms"] = (
            f"{shots.latency_ms(50):.1f}/{shots.latency_ms(95):.1f}/{shots.latency_ms(99):.1f}"
        )
        if key == "spike":
            s["spike_last_final_answer_s"] = f"{shots.last_final_s:.2f}"
        s[f"{key}_overbooked"] = "no" if not phase.seats.violations() else "YES"
    value = ratio(r.results)
    if value is not None:
        s["ratio_atomic_over_baseline"] = f"{value:.2f} ({verdict(value, TARGET)})"
    steps = step_ratio(r.steps)
    if steps is not None:
        s["step_ratio_atomic_over_baseline"] = f"{steps:.2f} (context)"
    frozen = gc_tuning_ratio(r.results)
    if frozen is not None:
        s["ratio_atomic_over_atomic_default_gc"] = f"{frozen:.2f}"
    return s
