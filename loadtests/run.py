"""`scripts/loadtest SCENARIO [options]`: start Pulse, seed a shop, run Locust headless, check.

Exit code: 0 when the checker passes, 1 when it fails, 2 when the run could not be made.
Everything lands in --out: plan.json, Locust's CSV and HTML, samples.csv, report.png,
ramp_steps.json (ramp), verdict.json and the Pulse logs.
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from loadtests import checker, report, scenarios, stored
from loadtests.ledger import read_ledger
from loadtests.plan import PLAN_ENV, ActivityPlan, RunPlan
from loadtests.pulse_stack import Pulse, SetupError, embedded, full_stack
from loadtests.sampler import Sampler
from loadtests.seed import ORIGIN, seed

log = logging.getLogger("loadtests")
REPO = Path(__file__).resolve().parents[1]
LOCUSTFILE = REPO / "loadtests" / "locustfile.py"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scripts/loadtest", description=__doc__)
    p.add_argument("scenario", choices=scenarios.NAMES)
    p.add_argument(
        "--stack",
        choices=("embedded", "full"),
        default="embedded",
        help="embedded stand-ins (default) or the engines of `scripts/stack env`",
    )
    p.add_argument("--workers", type=int, default=1, help="entry_service worker processes")
    p.add_argument("--users", type=int, help="opening shoppers (peak for ramp)")
    p.add_argument("--browsers", type=int, help="browsing shoppers")
    p.add_argument("--staff", type=int, help="marketing staff on the dashboard")
    p.add_argument("--duration", type=float, help="seconds (spike: after the opening)")
    p.add_argument("--capacity", type=int, help="capacity of the main activity")
    p.add_argument("--step-seconds", type=float, help="ramp: seconds per step")
    p.add_argument("--step-users", type=int, help="ramp: opening shoppers added per step")
    # An entry POST answers within PULSE_ENTRY_CONFIRM_WAIT_S (2 s) by design, `reserved` if
    # Postgres has not confirmed by then: beyond 3 s, requests queue.
    p.add_argument("--knee-p95-ms", type=float, default=3000.0, help="ramp: p95 limit")
    p.add_argument("--knee-error-pct", type=float, default=1.0, help="ramp: error-rate limit")
    p.add_argument(
        "--locust-processes",
        type=int,
        default=max(1, (os.cpu_count() or 1) // 4),
        help="Locust processes (default: a quarter of the cores, at least 1)",
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for accepted events to become queryable",
    )
    p.add_argument("--out", type=Path, help="results directory (default loadtest-results/...)")
    return p  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for chatty in ("httpx", "elastic_transport"):  # not one line per request
        logging.getLogger(chatty).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    run_id = uuid.uuid4().hex[:10]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or REPO / "loadtest-results" / f"{args.scenario}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    options = scenarios.Options(
        scenario=args.scenario,
        users=args.users,
        browsers=args.browsers,
        staff=args.staff,
        duration_s=args.duration,
        capacity=args.capacity,
        step_s=args.step_seconds,
        step_users=args.step_users,
        knee_p95_ms=args.knee_p95_ms,
        knee_error_pct=args.knee_error_pct,
    )
    try:
        with _pulse(args, out, run_id) as pulse:
            verdict = _run(args, options, pulse, out, run_id)
    except SetupError as exc:
        log.error("loadtest_setup_failed error=%s", exc)
        return 2
    sys.stdout.write(checker.render(verdict) + f"\nresults: {out}\n")
    return 0 if verdict.passed else 1


def _pulse(args: argparse.Namespace, out: Path, run_id: str) -> AbstractContextManager[Pulse]:
    if args.stack == "full":
        return full_stack(out, args.workers, run_id)
    return embedded(out, args.workers)


def _run(
    args: argparse.Namespace, options: scenarios.Options, pulse: Pulse, out: Path, run_id: str
) -> checker.Verdict:
    load = scenarios.load_for(options)
    specs = scenarios.activities_for(options, load)
    shop = seed(pulse.core_url, pulse.admin_token, run_id, specs)
    plan = RunPlan(
        scenario=args.scenario,
        run_id=run_id,
        entry_url=pulse.entry_url,
        dashboard_url=pulse.dashboard_url,
        site_key=shop.site_key,
        origin=ORIGIN,
        signing_secret=shop.signing_secret,
        dashboard_token=pulse.dashboard_token,
        site_id=shop.site_id,
        campaign_id=shop.campaign_id,
        definitions=shop.definitions,
        activities=[
            ActivityPlan(i, s.name, s.capacity, s.per_user_limit, s.attempts_per_shopper)
            for i, s in zip(shop.activity_ids, specs, strict=True)
        ],
        load=load,
        out_dir=str(out),
        extra={"stack": args.stack, "workers": args.workers, "load_average": os.getloadavg()},
    )
    plan.save(out / "plan.json")
    log.info(
        "loadtest_start scenario=%s stack=%s workers=%d openers=%d browsers=%d staff=%d",
        args.scenario, args.stack, args.workers, load.openers, load.browsers, load.staff,
    )  # fmt: skip
    with Sampler(
        out / "samples.csv", pulse.processes, engines=pulse.elasticsearch_url is not None
    ) as sampler:
        locust_code = _locust(plan, out, args.locust_processes, sampler)
        ledger = read_ledger(out)
        sources = stored.Sources(
            database_url=pulse.database_url,
            elasticsearch_url=pulse.elasticsearch_url,
            index_prefix=pulse.index_prefix,
            site_id=shop.site_id,
            activity_ids=shop.activity_ids,
        )
        expected = len(set(ledger.accepted_events))
        found = stored.collect(
            sources,
            expected,
            set(ledger.admitted.values()),
            ledger.last_accepted_at,
            args.drain_timeout,
        )
    verdict = checker.judge(plan.activities, ledger, found)
    verdict.figures["locust_exit_code"] = locust_code
    _write(out, plan, verdict)
    return verdict


def _locust(plan: RunPlan, out: Path, processes: int, sampler: Sampler) -> int:
    args = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--csv", str(out / "locust"), "--html", str(out / "locust.html"),
        "--only-summary", "--loglevel", "INFO", "--stop-timeout", "30",
    ]  # fmt: skip
    if processes > 1:
        args += ["--processes", str(processes)]
    env = {**os.environ, PLAN_ENV: str(out / "plan.json"), "PYTHONPATH": str(REPO)}
    bound = plan.load.duration_s + 120  # the shape stops it; this is the backstop
    with (out / "locust.log").open("w") as log_file:
        proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        sampler.add("locust", proc.pid)
        try:
            return proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            log.error("locust_overran seconds=%.0f", bound)
            proc.kill()
            return proc.wait(timeout=30)


def _write(out: Path, plan: RunPlan, verdict: checker.Verdict) -> None:
    (out / "verdict.json").write_text(
        json.dumps(
            {
                "passed": verdict.passed,
                "checks": [asdict(c) for c in verdict.checks],
                "figures": verdict.figures,
            },
            indent=2,
        )
    )
    history = out / "locust_stats_history.csv"
    if history.exists():
        title = f"Pulse load test: {plan.scenario} ({plan.extra['stack']} stack, "
        title += f"{plan.extra['workers']} entry worker(s)) {time.strftime('%Y-%m-%d %H:%M')}"
        report.render(history, out / "samples.csv", out / "report.png", title)


if __name__ == "__main__":
    raise SystemExit(main())
