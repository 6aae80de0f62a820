"""Per-step figures of the ramp and the knee they show. No Locust: fed plain histograms.

A step's latency comes from the difference of Locust's cumulative response-time histograms
(`StatsEntry.response_times`, {rounded ms: count}) at its start and end, so each step is
judged on its own requests only.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Snapshot:
    at: float
    requests: int
    failures: int
    histogram: dict[int, int]


@dataclass(frozen=True)
class Step:
    users: int
    seconds: float
    requests_per_s: float
    ok_per_s: float
    p95_ms: float
    error_pct: float
    broken: bool


def percentile(histogram: dict[int, int], fraction: float) -> float:
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= fraction * total:
            return float(ms)
    return float(max(histogram))


def step(
    users: int, start: Snapshot, end: Snapshot, *, p95_limit_ms: float, error_limit_pct: float
) -> Step:
    seconds = max(1e-6, end.at - start.at)
    requests = end.requests - start.requests
    failures = end.failures - start.failures
    diff = {ms: n - start.histogram.get(ms, 0) for ms, n in end.histogram.items()}
    p95 = percentile({ms: n for ms, n in diff.items() if n > 0}, 0.95)
    error_pct = 100.0 * failures / requests if requests else 0.0
    return Step(
        users=users,
        seconds=round(seconds, 2),
        requests_per_s=round(requests / seconds, 1),
        ok_per_s=round((requests - failures) / seconds, 1),
        p95_ms=p95,
        error_pct=round(error_pct, 2),
        broken=requests == 0 or p95 > p95_limit_ms or error_pct > error_limit_pct,
    )


def knee(steps: list[Step]) -> Step | None:
    """The best step before the first broken one: the most load Pulse took within limits."""
    good: list[Step] = []
    for s in steps:
        if s.broken:
            break
        good.append(s)
    return max(good, key=lambda s: s.ok_per_s) if good else None


def past_knee(steps: list[Step], drop: float = 0.8) -> bool:
    """Throughput fell below `drop` x the best step for the last two steps: more shoppers
    now get fewer answers (the entry POST's latency is capped by its confirmation wait, so
    the collapse can show here before it shows in p95)."""
    if len(steps) < 3:
        return False
    best = max(s.ok_per_s for s in steps[:-2])
    return all(s.ok_per_s < drop * best for s in steps[-2:])


def write(path: Path, steps: list[Step]) -> None:
    best = knee(steps)
    path.write_text(
        json.dumps(
            {"steps": [asdict(s) for s in steps], "knee": asdict(best) if best else None},
            indent=2,
        )
    )
