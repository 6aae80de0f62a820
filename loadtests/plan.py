"""What one load-test run targets: the seeded shop and the scenario's numbers, as one JSON file.

`scripts/loadtest` writes it after seeding; every Locust process reads it (the path is in
`PULSE_LOADTEST_PLAN`). Only public facts are in it: URLs, the site key, definition and
activity ids, the site's signing secret (the shop's own backend holds it) and the dashboard
token (marketing staff hold it).
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PLAN_ENV = "PULSE_LOADTEST_PLAN"


@dataclass(frozen=True)
class ActivityPlan:
    id: str
    name: str
    capacity: int
    per_user_limit: int
    attempts_per_shopper: int  # distinct Idempotency-Keys one shopper uses (tries again)


@dataclass(frozen=True)
class Load:
    """The scenario's numbers; the shapes and the users read them."""

    openers: int  # opening shoppers (peak, for shapes that step)
    browsers: int
    staff: int
    duration_s: float
    spawn_rate: float
    opening_at: float = 0.0  # epoch seconds: spike shoppers all press at this moment
    opener_pacing_s: float = 1.0  # one entry attempt per opener per this many seconds
    once: bool = False  # spike: each opener enters once, then stays idle
    step_users: int = 0  # ramp: openers added per step
    step_s: float = 0.0
    knee_p95_ms: float = 3000.0
    knee_error_pct: float = 1.0
    connections: int = 500  # per Locust process: the ingress's upstream pool for openers


@dataclass(frozen=True)
class RunPlan:
    scenario: str
    run_id: str
    entry_url: str
    dashboard_url: str
    site_key: str
    origin: str
    signing_secret: str
    dashboard_token: str
    site_id: str
    campaign_id: str
    definitions: dict[str, str]  # trigger type -> definition id
    activities: list[ActivityPlan]
    load: Load
    out_dir: str
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load_file(cls, path: Path) -> "RunPlan":
        raw = json.loads(path.read_text())
        raw["activities"] = [ActivityPlan(**a) for a in raw["activities"]]
        raw["load"] = Load(**raw["load"])
        return cls(**raw)
