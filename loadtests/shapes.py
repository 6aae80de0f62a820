"""The scenarios as Locust LoadTestShapes, each bounded in time and in users.

- spike: every opening shopper spawns before the opening moment and presses at once, with
  browsing traffic and staff alongside; ends `duration` after the opening.
- constant / soak: a steady arrival rate of shoppers for `duration` (soak: long).
- ramp: adds `step_users` opening shoppers every `step_s` until the entry POST's p95 or error
  rate breaks its limit, or two steps answer under 80% of the best step's entries/s (or the
  last step); writes ramp_steps.json with the knee.
- stress: straight to a load beyond the knee and held, to show how Pulse degrades.
"""

from pathlib import Path

from locust import LoadTestShape

from loadtests import knee
from loadtests.plan import Load, RunPlan

ENTRY_STAT = ("entry: POST", "POST")
SETTLE_S = 20.0  # the last entries are polled to their final answer before the users stop


class Scenario(LoadTestShape):
    abstract = True
    plan: RunPlan

    @property
    def load(self) -> Load:
        return self.plan.load

    def background(self) -> int:
        return self.load.browsers + self.load.staff


class SteadyShape(Scenario):
    """spike, constant and soak: all users up (at `spawn_rate`), held for `duration`."""

    abstract = True

    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() > self.load.duration_s:
            return None
        return self.load.openers + self.background(), self.load.spawn_rate


class RampShape(Scenario):
    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[knee.Step] = []
        self.current = 0
        self.started: knee.Snapshot | None = None

    def _snapshot(self) -> knee.Snapshot:
        assert self.runner is not None
        entry = self.runner.stats.get(*ENTRY_STAT)
        return knee.Snapshot(
            at=self.get_run_time(),
            requests=entry.num_requests,
            failures=entry.num_failures,
            histogram=dict(entry.response_times),
        )

    def tick(self) -> tuple[int, float] | None:
        t = self.get_run_time()
        index = int(t // self.load.step_s)
        last = max(1, self.load.openers // max(1, self.load.step_users))
        if index != self.current or self.started is None:
            if self.started is not None and self._close_step():
                return None
            self.current, self.started = index, self._snapshot()
        if index >= last or t > self.load.duration_s:
            return None
        users = self.load.step_users * (index + 1)
        return users + self.background(), self.load.spawn_rate

    def _close_step(self) -> bool:
        """Judge the step that just ended; True when it broke a limit (the ramp stops)."""
        assert self.started is not None
        done = knee.step(
            self.load.step_users * (self.current + 1),
            self.started,
            self._snapshot(),
            p95_limit_ms=self.load.knee_p95_ms,
            error_limit_pct=self.load.knee_error_pct,
        )
        self.steps.append(done)
        knee.write(Path(self.plan.out_dir) / "ramp_steps.json", self.steps)
        return done.broken or knee.past_knee(self.steps)


def shape_for(plan: RunPlan) -> type[Scenario]:
    """The shape class of the plan's scenario, bound to the plan."""
    base: type[Scenario] = RampShape if plan.scenario == "ramp" else SteadyShape
    return type(f"{plan.scenario.capitalize()}Shape", (base,), {"abstract": False, "plan": plan})
