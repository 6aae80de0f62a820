"""The README's walkthrough, run as written against `pulse run`, so the README stays true."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.process import free_ports, pulse_run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", readme, re.S
    )
    assert match, "README.md lost its walkthrough markers"
    return match.group(1)


def test_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "pulse-data"
    with pulse_run(data_dir, free_ports(3)) as run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(
            CORE=run["core"],
            ENTRY=run["entry"],
            DASH=run["dashboard"],
            PULSE_DATA_DIR=str(data_dir),
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", _walkthrough()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr + result.stdout
    definitions_line, accepted_line, *metrics_lines = result.stdout.strip().splitlines()
    assert len(json.loads(definitions_line)["definitions"]) == 2
    assert json.loads(accepted_line) == {"accepted": 2, "rejected": []}
    metrics = json.loads("\n".join(metrics_lines))
    assert metrics["totals"]["visits"] == 1 and metrics["totals"]["clicks"] == 1
    assert metrics["totals"]["click_rate"] == 1.0
    [activity] = metrics["activities"]
    assert activity["name"] == "First 100 get a coupon" and activity["visits"] == 1
    devices = {d["device_type"]: d["unique_visitors"] for d in metrics["devices"]}
    assert devices["mobile"] == 1
