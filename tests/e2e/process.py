"""Run Pulse commands as real processes on free ports, for end-to-end tests."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import coverage
import httpx

T = TypeVar("T")
PULSE = str(Path(sys.executable).with_name("pulse"))


def free_ports(n: int) -> list[int]:
    """n distinct free ports, all bound at once (so no two are the same) and then released for
    the child processes; take every port a test needs in one call."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(extra or {})
    return env


def untraced(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without coverage's start-up variables, for the processes of a spike or a load test.

    Tracing every line of a service under thousands of requests doubles those tests' time,
    and the code they run is covered by the focused tests; what a spike proves is its
    outcome (no over-booking, every answer stored), which tracing cannot add to."""
    return {k: v for k, v in env.items() if not k.startswith("COVERAGE_PROCESS_")}


def run_untraced(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` with coverage's tracing paused in this process, for a spike's client.

    The client's thousands of requests run test and library code, never Pulse's (the services
    are other processes), and tracing them made a spike test take twice as long."""
    cov = coverage.Coverage.current()
    if cov is None:
        return asyncio.run(main)
    cov.stop()
    try:
        return asyncio.run(main)
    finally:
        # Restarting checks imports again and warns of every measured module imported while
        # stopped (all of them): expected here, and the suite turns warnings into errors.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", coverage.exceptions.CoverageWarning)
            cov.start()


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None, f"{url} exited early:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} never became ready:\n{log.read_text()}"
        time.sleep(0.1)


@contextmanager
def process(
    args: Sequence[str], env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process whose output goes to `log`; interrupted and awaited on exit."""
    # A file, not a pipe: an undrained pipe would block the server once its logs fill it.
    with log.open("w") as out:
        proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, env=dict(env))
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        assert code == 0, f"{args[1:]} exited with {code}:\n{log.read_text()[-4000:]}"


@contextmanager
def pulse_run(data_dir: Path, ports: list[int]) -> Iterator[dict[str, str]]:
    """Start `pulse run`, wait for its banner and health, yield the printed facts, stop it."""
    args = [PULSE, "--data-dir", str(data_dir), "run"]
    for name, port in zip(("core", "entry", "dashboard"), ports, strict=True):
        args += [f"--{name}-port", str(port)]
    log_path = data_dir.parent / f"pulse-run-{time.monotonic_ns()}.log"
    with process(args, clean_env(), log_path) as proc:
        banner = ""
        deadline = time.monotonic() + 30
        while "Stop with Ctrl-C." not in banner:
            assert proc.poll() is None, f"pulse run exited early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"no banner:\n{log_path.read_text()}"
            time.sleep(0.05)
            banner = log_path.read_text()
        facts = dict(re.findall(r"^\s+(admin token|dashboard token)\s+(\S+)$", banner, re.M))
        urls = {
            n: f"http://127.0.0.1:{p}"
            for n, p in zip(("core", "entry", "dashboard"), ports, strict=True)
        }
        for url in urls.values():
            wait_ready(url, proc, log_path)
        yield {**urls, **facts}
