"""The replicated engines of `scripts/stack up --replicated` (three Kafka brokers, a Redis
primary with a replica and three Sentinels), started for the fault tests on free loopback ports
and in a directory of their own: the shared default stack is never touched, and the tests may
kill these engines at will.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.e2e.process import clean_env, free_ports

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "scripts" / "stack"
MASTER = "pulse"  # the name scripts/stack gives the Sentinels' primary


@dataclass
class ReplicatedStack:
    directory: Path
    kafka_ports: list[int]
    controller_ports: list[int]
    redis_ports: dict[str, int]  # primary, replica
    sentinel_ports: list[int]

    @property
    def env(self) -> dict[str, str]:
        """What `scripts/stack` reads to put this instance where it is."""
        return clean_env(
            {
                "PULSE_STACK_REPLICATED_DIR": str(self.directory),
                "PULSE_STACK_REPLICATED_KAFKA_PORTS": _csv(self.kafka_ports),
                "PULSE_STACK_REPLICATED_CONTROLLER_PORTS": _csv(self.controller_ports),
                "PULSE_STACK_REPLICATED_REDIS_PORT": str(self.redis_ports["primary"]),
                "PULSE_STACK_REPLICATED_REPLICA_PORT": str(self.redis_ports["replica"]),
                "PULSE_STACK_REPLICATED_SENTINEL_PORTS": _csv(self.sentinel_ports),
                # Throwaway engines: a graceful stop is not worth a minute of CI.
                "PULSE_STACK_STOP_SECONDS": "5",
            }
        )

    def stack(self, command: str, timeout_s: float = 240) -> str:
        result = subprocess.run(
            [str(STACK), command, "--replicated"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        assert result.returncode == 0, f"scripts/stack {command} --replicated:\n" + (
            result.stdout + result.stderr
        )
        return result.stdout

    def pulse_env(self) -> dict[str, str]:
        """The PULSE_* variables `scripts/stack env --replicated` prints (Kafka and Redis)."""
        lines = self.stack("env", timeout_s=30).splitlines()
        pairs = (line.removeprefix("export ").split("=", 1) for line in lines if "=" in line)
        return {k: v for k, v in pairs if k.startswith(("PULSE_KAFKA", "PULSE_REDIS"))}

    @property
    def bootstrap(self) -> str:
        return _csv([f"127.0.0.1:{p}" for p in self.kafka_ports])

    def kafka_pid(self, node: int) -> int:
        return int((self.directory / "run" / f"kafka-{node}.pid").read_text().strip())

    def kill_broker(self, node: int) -> None:
        """kill -9 one Kafka node (broker and controller) and wait until it is gone."""
        pid = self.kafka_pid(node)
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def redis_primary_port(self) -> int:
        """The port of the node the Sentinels call primary now."""
        sentinel = redis.Redis(port=self.sentinel_ports[0], socket_timeout=2)
        try:
            _host, port = sentinel.sentinel_get_master_addr_by_name(MASTER)  # type: ignore[no-untyped-call]
        finally:
            sentinel.close()
        return int(port)

    def kill_redis_primary(self) -> str:
        """kill -9 whichever node is the primary now; returns its name (primary or replica)."""
        port = self.redis_primary_port()
        name = next(n for n, p in self.redis_ports.items() if p == port)
        pid = int((self.directory / "run" / f"redis-{name}.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
        return name


def start_replicated_stack(directory: Path) -> ReplicatedStack:
    ports = free_ports(11)
    stack = ReplicatedStack(
        directory=directory,
        kafka_ports=ports[0:3],
        controller_ports=ports[3:6],
        redis_ports={"primary": ports[6], "replica": ports[7]},
        sentinel_ports=ports[8:11],
    )
    stack.stack("up")
    return stack


def _csv(values: list[int] | list[str]) -> str:
    return ",".join(str(v) for v in values)


def _wait_gone(pid: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists():
        # A zombie is gone for the purpose of the test (it holds no port, serves nothing).
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        assert time.monotonic() < deadline, f"process {pid} still alive after SIGKILL"
        time.sleep(0.05)
