"""A throwaway Redis primary, replica and Sentinel on free loopback ports, for failover tests.

Never the stack's shared Redis: these processes are the test's own, killed at the end.
"""

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.e2e.process import free_ports

MASTER = "pulse-test"


@dataclass
class Sentinelled:
    primary_port: int
    replica_port: int
    sentinel_port: int
    processes: dict[str, subprocess.Popen[bytes]]

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{MASTER}/0"

    def kill_primary(self) -> None:
        self.processes["primary"].send_signal(signal.SIGKILL)
        self.processes["primary"].wait(timeout=10)


def _wait_ping(port: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)
    finally:
        client.close()


@contextmanager
def sentinelled_redis(tmp: Path) -> Iterator[Sentinelled]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: run `scripts/stack up` (it installs it)")
    primary, replica, sentinel = free_ports(3)
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    conf = tmp / "sentinel.conf"
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndir {tmp}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {primary} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\n"
        f"sentinel failover-timeout {MASTER} 5000\n"
    )
    with ExitStack() as stack:
        processes: dict[str, subprocess.Popen[bytes]] = {}

        def start(name: str, args: list[str]) -> None:
            log = stack.enter_context((tmp / f"{name}.log").open("wb"))
            proc = subprocess.Popen([server, *args], stdout=log, stderr=subprocess.STDOUT)
            processes[name] = proc
            stack.callback(lambda: (proc.kill(), proc.wait(timeout=10)))

        start("primary", ["--port", str(primary), "--dir", str(tmp), *common])
        _wait_ping(primary)
        start(
            "replica",
            ["--port", str(replica), "--dir", str(tmp), "--replicaof", "127.0.0.1", str(primary)]
            + common,
        )
        _wait_ping(replica)
        start("sentinel", [str(conf), "--sentinel"])
        _wait_ping(sentinel)
        yield Sentinelled(primary, replica, sentinel, processes)
