"""One PNG per run, read at a glance: load, latency and errors over time, with the CPU and
memory of every Pulse process and engine sampled alongside."""

import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def _history(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "N/A" before the first response
        return float("nan")


def render(history_csv: Path, samples_csv: Path, out: Path, title: str) -> None:
    rows = _history(history_csv)
    if not rows:
        raise ValueError(f"{history_csv} has no Aggregated rows")
    t0 = float(rows[0]["Timestamp"])
    t = [float(r["Timestamp"]) - t0 for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(11, 13), sharex=True)
    load, latency, cpu, memory = axes

    load.plot(t, [_number(r["Requests/s"]) for r in rows], label="requests/s")
    load.plot(t, [_number(r["Failures/s"]) for r in rows], label="failures/s", color="red")
    users = load.twinx()
    users.plot(t, [_number(r["User Count"]) for r in rows], color="grey", ls=":", label="users")
    users.set_ylabel("users")
    load.set_ylabel("per second")
    load.legend(loc="upper left")
    users.legend(loc="upper right")

    for pct, style in (("50%", "-"), ("95%", "--"), ("99%", ":")):
        latency.plot(t, [_number(r[pct]) for r in rows], ls=style, label=f"p{pct[:-1]}")
    latency.set_ylabel("latency ms (10 s window)")
    latency.set_yscale("symlog", linthresh=10)
    errors = latency.twinx()
    rate = []
    for r in rows:
        total, failed = _number(r["Requests/s"]), _number(r["Failures/s"])
        rate.append(100 * failed / total if total and total == total else float("nan"))
    errors.plot(t, rate, color="red", alpha=0.6, label="error %")
    errors.set_ylabel("error %")
    errors.set_ylim(bottom=0, top=max(1.0, *(r for r in rate if r == r)))
    latency.legend(loc="upper left")
    errors.legend(loc="upper right")

    series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    with samples_csv.open() as f:
        for s in csv.DictReader(f):
            series[s["group"]].append(
                (float(s["time"]) - t0, float(s["cpu_pct"]), float(s["rss_mb"]))
            )
    for group, points in sorted(series.items()):
        cpu.plot([p[0] for p in points], [p[1] for p in points], label=group)
        memory.plot([p[0] for p in points], [p[2] for p in points], label=group)
    cpu.set_ylabel("CPU % (100 = one core)")
    memory.set_ylabel("RSS MiB")
    cpu.legend(fontsize="small", ncol=3)
    memory.legend(fontsize="small", ncol=3)
    memory.set_xlabel("seconds since the first request")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
