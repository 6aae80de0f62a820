"""`pulse entry|dashboard --workers N`: N worker processes behind one port, stopped together."""

import signal
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.process import PULSE, clean_env, free_ports, wait_ready

pytestmark = pytest.mark.e2e


def _workers(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    # uvicorn spawns its workers through multiprocessing; the resource tracker is no worker.
    children = psutil.Process(proc.pid).children()
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


# (service, a path every worker answers without a token or data, its status and error code)
SERVICES = [
    ("entry", "/v1/sites/pk_unknown/definitions", 404, "site_not_found"),
    ("dashboard", "/v1/campaigns", 401, "missing_token"),
]


@pytest.mark.parametrize(("service", "path", "status", "code"), SERVICES)
def test_two_workers_serve_one_port_and_stop_on_sigint(
    tmp_path: Path, service: str, path: str, status: int, code: str
) -> None:
    (port,) = free_ports(1)
    log = tmp_path / f"{service}.log"
    env = clean_env({"PULSE_DATA_DIR": str(tmp_path / "data"), "PULSE_LOG_LEVEL": "WARNING"})
    args = [PULSE, service, "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log, timeout_s=60)
        workers = _workers(proc)
        assert len(workers) == 2, [w.cmdline() for w in workers]
        with httpx.Client(base_url=url, timeout=10) as client:
            answers = [client.get(path) for _ in range(20)]
        assert {a.status_code for a in answers} == {status}
        assert answers[0].json()["error"]["code"] == code
    finally:
        proc.send_signal(signal.SIGINT)
        exit_code = proc.wait(timeout=30)
    assert exit_code == 0, log.read_text()[-3000:]
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


def test_workers_must_be_positive(tmp_path: Path) -> None:
    env = clean_env({"PULSE_DATA_DIR": str(tmp_path / "data")})
    out = subprocess.run(
        [PULSE, "entry", "--workers", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert "must be 1 or more" in out.stderr
