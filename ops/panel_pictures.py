"""Run every Grafana panel's query against a real Prometheus that scraped a load test, and draw
the results: `python -m ops.panel_pictures [--seconds 240] [--out docs/images/operations]`.

Needs the local stack (`eval "$(scripts/stack env)"`), Debian's prometheus (scripts/promtool
installs it) and matplotlib (`pip install -e '.[ops]'`). On scratch resources removed at the
end (benchmarks/scratch.py): a database, prefixed topics, index prefix and consumer groups.
Started here, all on 127.0.0.1: one entry, one dashboard and two core processes (two consumers
in the group, so one can be paused), and Prometheus scraping them every 5 s with the alert rules
loaded. The load (ops/load_scenario.py) runs for `--seconds`; a third in, one consumer is
paused (SIGSTOP) for a third of the run and poison messages are published, so the lag and
dead-letter panels have something to show.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from benchmarks.scratch import Engines, scratch

from common_messaging import EVENTS_DLQ, EVENTS_RAW, OutgoingMessage
from common_messaging.bus.kafka import KafkaPublisher
from ops import load_scenario
from ops.panel_render import render_dashboard

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ROOT / "k8s" / "monitoring" / "dashboards"
RULES = ROOT / "k8s" / "monitoring" / "rules" / "pulse-alerts.yaml"
ADMIN, READER = "adm_pictures_run_token", "dash_pictures_run_token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # a paused one must be able to stop
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def _prometheus_config(work: Path, targets: dict[str, int]) -> Path:
    jobs = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"pod": name}}
        for name, port in targets.items()
    ]
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "pulse", "static_configs": jobs}],
    }
    path = work / "prometheus.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _poison(servers: str, prefix: str, count: int = 3) -> None:
    publisher = KafkaPublisher(servers, "pictures", 15_000, prefix)
    try:
        garbage = [OutgoingMessage(value=b"not a pulse message", key=b"x") for _ in range(count)]
        publisher.publish_sync(EVENTS_RAW, garbage)
    finally:
        publisher.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "operations")
    args = parser.parse_args(argv)
    engines = Engines.from_env()
    pulse = str(Path(sys.executable).with_name("pulse"))
    with scratch(engines) as s, tempfile.TemporaryDirectory() as tmp:
        try:
            return _run(args, engines, s, Path(tmp), pulse)
        finally:
            _cleanup_extra(engines, s)


def _run(args: argparse.Namespace, engines: Engines, s: Any, work: Path, pulse: str) -> int:
    with ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(
            PULSE_DATABASE_URL=s.database_url,
            PULSE_KAFKA_BOOTSTRAP_SERVERS=engines.kafka,
            PULSE_KAFKA_TOPIC_PREFIX=s.topic_prefix,
            PULSE_KAFKA_PARTITIONS="3",
            PULSE_ELASTICSEARCH_URL=engines.elasticsearch,
            PULSE_ELASTICSEARCH_INDEX_PREFIX=s.es_prefix,
            PULSE_REDIS_URL=engines.redis,
            PULSE_ADMIN_TOKEN=ADMIN,
            PULSE_DASHBOARD_TOKEN=READER,
            PULSE_CONSUMER_GROUP=s.consumer_group,
            PULSE_ENTRIES_CONSUMER_GROUP=f"{s.consumer_group}-entries",
            PULSE_ENTRY_RATE_LIMIT_PER_USER="3",
            PULSE_DATA_DIR=str(work / "data"),
            PULSE_LOG_LEVEL="WARNING",
        )
        subprocess.run([pulse, "migrate"], env=env, check=True, timeout=120)
        ports = {"core-0": _free_port(), "core-1": _free_port()}
        ports |= {"entry-0": _free_port(), "dashboard-0": _free_port()}
        procs = {}
        for name, port in ports.items():
            log = work / f"{name}.log"
            command = [pulse, name.split("-")[0], "--host", "127.0.0.1", "--port", str(port)]
            procs[name] = stack.enter_context(_process(command, env, log))
            _wait(f"http://127.0.0.1:{port}/readyz", procs[name], log)
        prom_port = _free_port()
        prom_log = work / "prometheus.log"
        stack.enter_context(
            _process(
                [
                    "prometheus",
                    f"--config.file={_prometheus_config(work, ports)}",
                    f"--storage.tsdb.path={work / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                env,
                prom_log,
            )
        )
        prometheus = f"http://127.0.0.1:{prom_port}"
        _wait(f"{prometheus}/-/ready", procs["core-0"], prom_log)
        urls = {n: f"http://127.0.0.1:{ports[f'{n}-0']}" for n in ("core", "entry", "dashboard")}
        start = time.time()

        async def load_and_chaos() -> tuple[Any, Any]:
            async def chaos() -> None:
                await asyncio.sleep(args.seconds / 3)
                os.kill(procs["core-1"].pid, signal.SIGSTOP)  # its partitions stop moving
                await asyncio.to_thread(_poison, engines.kafka, s.topic_prefix)
                await asyncio.sleep(args.seconds / 3)
                os.kill(procs["core-1"].pid, signal.SIGCONT)

            load = load_scenario.run(urls, ADMIN, READER, args.seconds)
            results = await asyncio.gather(load, chaos())
            return results[0]

        shop, counts = asyncio.run(load_and_chaos())
        time.sleep(20)  # the last scrapes and rule evaluations
        end = time.time()
        sys.stdout.write(f"load: {counts}\n")
        args.out.mkdir(parents=True, exist_ok=True)
        for board in sorted(DASHBOARDS.glob("*.json")):
            summary = render_dashboard(
                prometheus, json.loads(board.read_text()), start, end, args.out
            )
            sys.stdout.write(summary)
        fired = httpx.get(
            f"{prometheus}/api/v1/query_range",
            params={"query": 'ALERTS{alertstate="firing"}', "start": start, "end": end, "step": 5},
        ).json()["data"]["result"]
        names = sorted({r["metric"]["alertname"] for r in fired})
        sys.stdout.write(f"alerts fired during the run: {', '.join(names) or 'none'}\n")
    return 0


def _cleanup_extra(engines: Engines, s: Any) -> None:
    """What benchmarks.scratch does not remove: the entries topics and group, the ES alias."""
    from confluent_kafka.admin import AdminClient

    from common_messaging.topics import ALL_TOPICS

    admin = AdminClient({"bootstrap.servers": engines.kafka})
    existing = set(admin.list_topics(timeout=10).topics)
    # benchmarks.scratch removes the events topic and its dead letters itself.
    others = [t for t in ALL_TOPICS if t not in (EVENTS_RAW, EVENTS_DLQ)]
    doomed = [s.topic_prefix + t for t in others if s.topic_prefix + t in existing]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result(30)
    for future in admin.delete_consumer_groups([f"{s.consumer_group}-entries"]).values():
        try:
            future.result(10)
        except Exception as exc:  # never joined: nothing to delete
            sys.stderr.write(f"cleanup: group not deleted: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(main())
