"""The five scenarios' default numbers and activities; every one is overridable by option.

Capacities are set below the demand a scenario offers, so every activity must end exactly
full (the checker's "sold out when demand exceeded capacity"), while the entry path keeps
confirming in Postgres for most of the run.
"""

import time
from dataclasses import dataclass

from loadtests.plan import Load
from loadtests.seed import ActivitySpec

NAMES = ("spike", "constant", "ramp", "stress", "soak")


@dataclass(frozen=True)
class Options:
    scenario: str
    users: int | None = None  # opening shoppers (peak)
    browsers: int | None = None
    staff: int | None = None
    duration_s: float | None = None
    capacity: int | None = None
    step_s: float | None = None
    step_users: int | None = None
    knee_p95_ms: float = 3000.0
    knee_error_pct: float = 1.0


DEFAULTS: dict[str, dict[str, float]] = {
    # openers, browsers, staff, seconds, spawn rate
    "spike": {"users": 10_000, "browsers": 100, "staff": 5, "duration": 150, "spawn": 2_000},
    "constant": {"users": 50, "browsers": 50, "staff": 3, "duration": 60, "spawn": 50},
    "ramp": {"users": 500, "browsers": 20, "staff": 2, "duration": 600, "spawn": 100},
    "stress": {"users": 600, "browsers": 100, "staff": 5, "duration": 60, "spawn": 100},
    "soak": {"users": 50, "browsers": 50, "staff": 3, "duration": 300, "spawn": 50},
}
SPIKE_CAPACITY = 1_000
STARTUP_S = 5.0  # Locust's start before the first user spawns


def load_for(o: Options) -> Load:
    d = DEFAULTS[o.scenario]
    openers = int(o.users if o.users is not None else d["users"])
    spawn = d["spawn"]
    duration = float(o.duration_s if o.duration_s is not None else d["duration"])
    if o.scenario == "spike":
        lead = STARTUP_S + openers / spawn + 3
        return Load(
            openers=openers,
            browsers=int(o.browsers if o.browsers is not None else d["browsers"]),
            staff=int(o.staff if o.staff is not None else d["staff"]),
            # Spike: `duration` counts from the opening moment.
            duration_s=lead + duration,
            spawn_rate=spawn,
            opening_at=time.time() + lead,
            once=True,
        )
    step_users = o.step_users or max(1, openers // 20)
    return Load(
        openers=openers,
        browsers=int(o.browsers if o.browsers is not None else d["browsers"]),
        staff=int(o.staff if o.staff is not None else d["staff"]),
        duration_s=duration,
        spawn_rate=spawn,
        step_users=step_users if o.scenario == "ramp" else 0,
        step_s=(o.step_s or 15.0) if o.scenario == "ramp" else 0.0,
        knee_p95_ms=o.knee_p95_ms,
        knee_error_pct=o.knee_error_pct,
    )


def activities_for(o: Options, load: Load) -> list[ActivitySpec]:
    if o.scenario == "spike":
        return [ActivitySpec("opening", o.capacity or SPIKE_CAPACITY, 1, 1)]
    # Arrivals: about one shopper per opener per second, 80% to "opening", 20% to "twice"
    # (per-user limit 2, three tries each). Capacity: half the demand offered.
    seconds = load.duration_s if o.scenario != "ramp" else load.step_s * 4
    arrivals = load.openers * seconds / load.opener_pacing_s
    opening = o.capacity or max(10, int(0.8 * arrivals * 0.5))
    twice = max(5, int(0.2 * arrivals * 2 * 0.5)) if not o.capacity else max(5, o.capacity // 4)
    return [ActivitySpec("opening", opening, 1, 1), ActivitySpec("twice", twice, 2, 3)]
