"""CPU probes of the benchmarks' server processes: which pid serves a port, and its CPU time.

A throughput ratio on a shared machine moves with whatever else runs; the server's own CPU per
request does not, so the benchmarks report both.
"""

import os
from pathlib import Path


def uvicorn_pid(url: str) -> int | None:
    """The pid of the uvicorn this run started on `url`'s port (its command line names it)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if b"uvicorn" in argv and b"--port" in argv and port.encode() in argv:
            return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process and its threads (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
