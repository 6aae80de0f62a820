"""HTTP load with wrk against uvicorn servers started with identical settings.

Each server is a subprocess (`python -m uvicorn --factory ...`, 1 worker, uvloop, httptools,
no access log) on a free loopback port. wrk posts one fixed JSON batch over and over; a Lua
`done` hook prints the figures as one JSON line, so nothing depends on wrk's text layout.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common.process_cpu import cpu_seconds, uvicorn_pid
from benchmarks.common.scratch import SetupError

REPO = Path(__file__).resolve().parents[2]  # the checkout: uvicorn imports `benchmarks` from it

UVICORN_FLAGS = (
    "--host", "127.0.0.1", "--workers", "1", "--loop", "uvloop", "--http", "httptools",
    "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "30",
)  # fmt: skip

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%BODY%]==]
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non_2xx":%d,' ..
    '"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
"""


class LoadError(RuntimeError):
    """A server did not start, answered other than 202, or wrk failed."""


@dataclass(frozen=True)
class LoadResult:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    server_cpu_s: float = 0.0  # the server process's CPU time during the timed load

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / self.requests if self.requests else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SetupError(
            "wrk is not installed: install it with `apt-get install -y wrk` (Debian/Ubuntu) "
            "and run again (see docs/benchmarks.md, Prerequisites)"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(factory: str, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """Start `uvicorn --factory <factory>` and yield its base URL once /readyz answers 200."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--factory", factory, *UVICORN_FLAGS]
    with ready_process([*args, "--port", str(port)], port, env, log):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def ready_process(
    args: list[str], port: int, env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `args`, yield the process once /readyz on `port` answers 200; SIGINT it after."""
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=dict(env), cwd=REPO)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, log, timeout_s=60)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LoadError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise LoadError(f"{url} not ready within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def check_sample(url: str, body: str, expected: int) -> None:
    """One request before the load: it must be a 202 accepting every event of the batch."""
    response = httpx.post(
        f"{url}/v1/events", content=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    if response.status_code != 202 or response.json().get("accepted") != expected:
        raise LoadError(f"{url}: sample answered {response.status_code} {response.text[:500]}")


def wrk_json(args: list[str], seconds: float) -> dict[str, Any]:
    """Run wrk with a Lua script that prints one `WRK_JSON {...}` line; that line, parsed."""
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise LoadError(f"wrk failed ({out.returncode}): {out.stderr[-1000:]} {out.stdout[-1000:]}")
    data: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    return data


def run_wrk(
    wrk: str, name: str, url: str, lua: Path, seconds: float, connections: int, threads: int
) -> LoadResult:
    args = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(lua), f"{url}/v1/events",
    ]  # fmt: skip
    data = wrk_json(args, seconds)
    return LoadResult(
        name=name,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=int(data["non_2xx"]),
        socket_errors=int(data["socket_errors"]),
    )


def write_lua(directory: Path, body: str) -> Path:
    if "]==]" in body:
        raise ValueError("the body cannot be embedded in a Lua long string")
    path = directory / "post_batch.lua"
    path.write_text(LUA.replace("%BODY%", body))
    return path


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any PULSE_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Target:
    name: str
    factory: str
    env: Mapping[str, str]


def compare(
    targets: list[Target],
    body: str,
    expected: int,
    *,
    seconds: float,
    warmup_s: float,
    connections: int,
    threads: int,
    workdir: Path,
) -> list[LoadResult]:
    """Load each target in turn with the same wrk settings; check a sample request first."""
    wrk = require_wrk()
    lua = write_lua(workdir, body)
    results = []
    for i, target in enumerate(targets):
        with server(target.factory, target.env, workdir / f"server-{i}.log") as url:
            check_sample(url, body, expected)
            if warmup_s > 0:
                run_wrk(wrk, target.name, url, lua, warmup_s, connections, threads)
            pid = uvicorn_pid(url)
            cpu0 = cpu_seconds(pid)
            result = run_wrk(wrk, target.name, url, lua, seconds, connections, threads)
            results.append(replace(result, server_cpu_s=cpu_seconds(pid) - cpu0))
    return results
