"""`python -m loadtests.summary RESULTS_DIR...`: one run's figures as Markdown, for
docs/loadtests.md (Locust's totals, the entry POST, peak CPU and memory, the verdict)."""

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def _stats(run: Path) -> dict[str, dict[str, str]]:
    with (run / "locust_stats.csv").open() as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def _peaks(run: Path) -> dict[str, tuple[float, float, float]]:
    """group -> (peak CPU %, mean CPU %, peak RSS MiB)."""
    cpu: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, float] = defaultdict(float)
    with (run / "samples.csv").open() as f:
        for s in csv.DictReader(f):
            cpu[s["group"]].append(float(s["cpu_pct"]))
            rss[s["group"]] = max(rss[s["group"]], float(s["rss_mb"]))
    return {g: (max(v), sum(v) / len(v), rss[g]) for g, v in cpu.items() if v}


def summarize(run: Path) -> str:
    plan = json.loads((run / "plan.json").read_text())
    verdict = json.loads((run / "verdict.json").read_text())
    stats = _stats(run)
    lines = [
        f"### {plan['scenario']} ({plan['extra']['stack']} stack, "
        f"{plan['extra']['workers']} entry worker(s))",
        "",
        f"Load average at start: {', '.join(f'{x:.2f}' for x in plan['extra']['load_average'])}",
        "",
        "| Request | count | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in stats.items():
        lines.append(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | {row['99%']} | "
            f"{float(row['Max Response Time']):.0f} |"
        )
    lines += ["", "| Process | peak CPU % | mean CPU % | peak RSS MiB |", "|---|---:|---:|---:|"]
    for group, (peak, mean, rss) in sorted(_peaks(run).items()):
        lines.append(f"| {group} | {peak:.0f} | {mean:.0f} | {rss:.0f} |")
    lines += ["", f"Checker: **{'PASS' if verdict['passed'] else 'FAIL'}**", ""]
    lines += [f"- {c['name']}: {c['detail']}" for c in verdict["checks"] if not c["passed"]]
    figures = verdict["figures"]
    lines.append(
        "- " + ", ".join(f"{k} = {v:.2f}" if isinstance(v, float) else f"{k} = {v}"
                         for k, v in figures.items())
    )  # fmt: skip
    steps = run / "ramp_steps.json"
    if steps.exists():
        ramp = json.loads(steps.read_text())
        lines += ["", "| users | s | entry req/s | ok/s | p95 ms | error % | broken |"]
        lines.append("|---:|---:|---:|---:|---:|---:|---|")
        for s in ramp["steps"]:
            lines.append(
                f"| {s['users']} | {s['seconds']} | {s['requests_per_s']} | {s['ok_per_s']} | "
                f"{s['p95_ms']:.0f} | {s['error_pct']} | {s['broken']} |"
            )
        knee = ramp["knee"]
        lines.append(
            f"\nKnee: {knee['ok_per_s']} entries/s answered at {knee['users']} opening shoppers"
            f" (p95 {knee['p95_ms']:.0f} ms)"
            if knee
            else "\nKnee: none (the first step broke)"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    for run in argv:
        sys.stdout.write(summarize(Path(run)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
