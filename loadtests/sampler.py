"""CPU and memory of every Pulse process and engine, sampled once a second with psutil.

Groups: each Pulse process with its children (entry workers), the Locust processes, and the
engines found by name (Postgres with its backends, Redis, Kafka, Elasticsearch). The engines
are shared with anything else using them, so their figures include other people's load.
"""

import csv
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ENGINES: dict[str, Callable[[str, str], bool]] = {
    "postgres": lambda name, cmd: name in ("postgres", "postmaster"),
    "redis": lambda name, cmd: name.startswith("redis-server"),
    "kafka": lambda name, cmd: name == "java" and "kafka.Kafka" in cmd,
    "elasticsearch": lambda name, cmd: name == "java" and "elasticsearch" in cmd,
}


class Sampler:
    def __init__(
        self, out: Path, roots: dict[str, int], *, engines: bool, interval_s: float = 1.0
    ) -> None:
        self._engines = engines  # the full stack's; the embedded default has none
        self._out = out
        self._roots = dict(roots)
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._seen: dict[int, psutil.Process] = {}  # cpu_percent needs the same object

    def add(self, name: str, pid: int) -> None:
        self._roots[name] = pid

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _groups(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for name, pid in self._roots.items():
            try:
                root = psutil.Process(pid)
                groups[name] = [pid] + [c.pid for c in root.children(recursive=True)]
            except psutil.Error:
                continue
        if not self._engines:
            return groups
        for proc in psutil.process_iter(["name", "cmdline"]):
            cmd = " ".join(proc.info["cmdline"] or [])
            for engine, matches in ENGINES.items():
                if matches(proc.info["name"] or "", cmd):
                    groups.setdefault(engine, []).append(proc.pid)
        return groups

    def _sample(self, pid: int) -> tuple[float, float]:
        proc = self._seen.get(pid)
        if proc is None:
            proc = self._seen[pid] = psutil.Process(pid)
        return proc.cpu_percent(None), proc.memory_info().rss / 2**20

    def _run(self) -> None:
        with self._out.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["time", "group", "cpu_pct", "rss_mb"])
            while not self._stop.wait(self._interval):
                now = time.time()
                for group, pids in self._groups().items():
                    cpu = rss = 0.0
                    for pid in pids:
                        try:
                            c, r = self._sample(pid)
                        except psutil.Error:
                            continue
                        cpu, rss = cpu + c, rss + r
                    out.writerow([f"{now:.1f}", group, f"{cpu:.1f}", f"{rss:.1f}"])
                f.flush()
