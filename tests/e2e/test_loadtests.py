"""Every load-test scenario, short and small, on the full stack: the checker must pass.

Each runs `scripts/loadtest`'s driver as a process (Locust monkey-patches the interpreter it
runs in, so never in pytest's), with Pulse on scratch resources of its own.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.process import clean_env, untraced
from tests.engines import engine_url

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

SHORT = {
    "spike": ["--users", "300", "--capacity", "50", "--browsers", "10", "--staff", "1",
              "--duration", "10", "--workers", "2"],
    "constant": ["--users", "20", "--browsers", "10", "--staff", "1", "--duration", "8"],
    "ramp": ["--users", "60", "--step-users", "20", "--step-seconds", "4", "--browsers", "5",
             "--staff", "1"],
    "stress": ["--users", "150", "--browsers", "20", "--staff", "1", "--duration", "8"],
    "soak": ["--users", "10", "--browsers", "5", "--staff", "1", "--duration", "10"],
}  # fmt: skip


@pytest.mark.parametrize("scenario", list(SHORT))
def test_short_scenario_passes_the_checker(scenario: str, tmp_path: Path) -> None:
    env = untraced(clean_env())
    env.update(
        {
            "PULSE_DATABASE_URL": engine_url("postgres"),
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": engine_url("kafka"),
            "PULSE_ELASTICSEARCH_URL": engine_url("elasticsearch"),
            "PULSE_REDIS_URL": engine_url("redis"),
        }
    )
    out = tmp_path / scenario
    args = [sys.executable, "-m", "loadtests.run", scenario, "--stack", "full", "--out", str(out)]
    done = subprocess.run(
        [*args, *SHORT[scenario]],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["passed"]
    assert {c["name"] for c in verdict["checks"]} >= {
        "no over-booking",
        "events exactly once in the database",
        "events exactly once in the index",
        "no 5xx",
    }
    figures = verdict["figures"]
    assert figures["events_accepted"] > 0 and figures["entry_attempts"] > 0
    assert figures["drain_s"] is not None
    if scenario == "spike":  # 300 shoppers for 50 seats: exactly 50 winners
        assert figures["confirmed[opening]"] == 50
    if scenario == "ramp":
        steps = json.loads((out / "ramp_steps.json").read_text())["steps"]
        assert len(steps) >= 1
    for report in ("report.png", "locust.html", "locust_stats.csv", "samples.csv"):
        assert (out / report).stat().st_size > 0, report
