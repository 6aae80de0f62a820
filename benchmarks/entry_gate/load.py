"""wrk load for the entry gate: distinct shoppers and keys, a few repeat shoppers.

Each request is `POST /v1/activities/<id>/entries` with its own `Idempotency-Key` and
`{"user_id": ...}` (the site is a demo site). One request in `REPEAT_EVERY` comes again from
one of the thread's first `REPEAT_POOL` shoppers, most of whom already got a seat: those
exercise the per-user limit (`already_entered`). A Lua `done` hook prints the figures and the
answers by status and reason as one JSON line, so nothing depends on wrk's text layout.
"""

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx

from benchmarks.common.http_load import LoadError, wrk_json

REPEAT_EVERY = 20  # 5% of requests come from a shopper seen before
REPEAT_POOL = 500

LUA = """
wrk.method = "POST"
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  counts = {non202 = 0, s429 = 0, s5xx = 0, busy = 0, reserved = 0, confirmed = 0,
            sold_out = 0, already_entered = 0, other = 0}
end
function request()
  n = n + 1
  local user = n
  if n % %REPEAT_EVERY% == 0 then user = (n / %REPEAT_EVERY%) % %REPEAT_POOL% + 1 end
  local headers = {["Host"] = wrk.headers["Host"], ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = string.format("%TAG%-t%d-k%d", tid, n)}
  local body = string.format('{"user_id":"%TAG%-t%d-u%d"}', tid, user)
  return wrk.format("POST", "%PATH%", headers, body)
end
local find = string.find
function response(status, headers, body)
  if status == 503 and find(body, '"entry_gate_busy"', 1, true) then
    counts.busy = counts.busy + 1
  elseif status ~= 202 then
    counts.non202 = counts.non202 + 1
    if status == 429 then counts.s429 = counts.s429 + 1 end
    if status >= 500 then counts.s5xx = counts.s5xx + 1 end
  elseif find(body, '"reserved"', 1, true) then counts.reserved = counts.reserved + 1
  elseif find(body, '"sold_out"', 1, true) then counts.sold_out = counts.sold_out + 1
  elseif find(body, '"already_entered"', 1, true) then
    counts.already_entered = counts.already_entered + 1
  elseif find(body, '"confirmed"', 1, true) then counts.confirmed = counts.confirmed + 1
  else counts.other = counts.other + 1 end
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  local e = summary.errors
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%s":%d', k, v)) end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"answers":{%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    table.concat(parts, ",")))
end
"""


@dataclass(frozen=True)
class GateLoad:
    name: str
    command: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    timeouts: int
    answers: dict[str, int]

    @property
    def per_second(self) -> float:
        """Entries answered per second: a request shed as busy is not one."""
        return (self.requests - self.busy) / self.seconds if self.seconds > 0 else 0.0

    @property
    def busy(self) -> int:
        """Shed by a saturated worker (503 `entry_gate_busy`): the designed answer to more
        than it can take, counted apart from errors."""
        return self.answers.get("busy", 0)

    @property
    def non_202(self) -> int:
        return self.answers.get("non202", 0)


def write_lua(directory: Path, activity_id: UUID, tag: str) -> Path:
    path = directory / f"entries-{tag}.lua"
    path.write_text(
        LUA.replace("%REPEAT_EVERY%", str(REPEAT_EVERY))
        .replace("%REPEAT_POOL%", str(REPEAT_POOL))
        .replace("%TAG%", tag)
        .replace("%PATH%", f"/v1/activities/{activity_id}/entries")
    )
    return path


def run_wrk(
    wrk: str,
    name: str,
    url: str,
    lua: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    timeout_s: int,
) -> GateLoad:
    args = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
        "--timeout", f"{timeout_s}s", "-s", str(lua), url,
    ]  # fmt: skip
    data = wrk_json(args, seconds)
    shown = [a if a != str(lua) else lua.name for a in args]
    return GateLoad(
        name=name,
        command=" ".join(["wrk", *shown[1:-1], "<url>"]),
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        socket_errors=sum(int(data[k]) for k in ("connect", "read", "write", "timeout")),
        timeouts=int(data["timeout"]),
        answers={k: int(v) for k, v in data["answers"].items()},
    )


def check_sample(url: str, activity_id: UUID, user_id: str) -> dict[str, object]:
    """One entry before the load: it must be a 202 `reserved` (gate, publish and record)."""
    response = httpx.post(
        f"{url}/v1/activities/{activity_id}/entries",
        json={"user_id": user_id},
        headers={"Idempotency-Key": f"{user_id}-sample"},
        timeout=10,
    )
    answer: dict[str, object] = response.json() if response.content else {}
    if response.status_code != 202 or answer.get("status") != "reserved":
        raise LoadError(f"sample entry answered {response.status_code} {response.text[:500]}")
    return answer
