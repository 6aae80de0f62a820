"""Run `pulse run` as a real process on free ports, for end-to-end tests."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@contextmanager
def pulse_run(data_dir: Path, ports: list[int]) -> Iterator[dict[str, str]]:
    """Start `pulse run`, wait for its banner and health, yield the printed facts, stop it."""
    pulse = Path(sys.executable).with_name("pulse")
    args = [str(pulse), "--data-dir", str(data_dir), "run"]
    for name, port in zip(("core", "entry", "dashboard"), ports, strict=True):
        args += [f"--{name}-port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    # A file, not a pipe: an undrained pipe would block the server once its logs fill it.
    log_path = data_dir.parent / f"pulse-run-{time.monotonic_ns()}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
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
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} never became ready"
                time.sleep(0.1)
        yield {**urls, **facts}
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
