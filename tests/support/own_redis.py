"""A throwaway redis-server of a test's own, on a free loopback port, that the test may kill
(`kill -9`), flush and restart on the same port without touching the shared one."""

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.e2e.process import free_ports


class OwnRedis:
    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "these tests need redis-server on PATH (apt-get install redis-server)"
        self._binary = binary
        self._dir = workdir
        self._dir.mkdir(parents=True, exist_ok=True)
        self.port = free_ports(1)[0]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._proc is None or self._proc.poll() is not None, "already running"
        log = (self._dir / "redis.log").open("a")
        # No persistence: a restart after kill -9 comes back empty, as a failover without the
        # last writes would at worst.
        args = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self._dir)]
        self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                assert self._proc.poll() is None, (self._dir / "redis.log").read_text()[-2000:]
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    assert time.monotonic() < deadline, "own redis-server never answered"
                    time.sleep(0.02)
        finally:
            client.close()

    def kill9(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait(timeout=10)

    def flush(self) -> None:
        client = redis.Redis(port=self.port)
        try:
            client.flushall()  # this instance is ours alone
        finally:
            client.close()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self.running():
            assert self._proc is not None
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
