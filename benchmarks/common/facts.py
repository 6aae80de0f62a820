"""What every benchmark report shares: printing, PASS/MISS, and facts about the machine."""

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import confluent_kafka
import redis
from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, text

from benchmarks.common.scratch import Engines

REPO = Path(__file__).resolve().parents[2]


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _safe(fn: "object") -> str:
    try:
        return str(fn() if callable(fn) else fn)
    except Exception as exc:  # a fact we cannot read is reported as such, never fatal
        return f"unknown ({type(exc).__name__})"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _postgres(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = str(conn.execute(text("SHOW server_version")).scalar_one())
    engine.dispose()
    return value


def _elasticsearch(url: str) -> str:
    with Elasticsearch(url, request_timeout=10) as es:
        # This cluster answers no `GET /` (es.info()): ask the nodes instead.
        nodes = es.nodes.info(filter_path="nodes.*.version")["nodes"]
        return ", ".join(sorted({str(n["version"]) for n in nodes.values()}))


def _redis(url: str) -> str:
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def _kafka_broker() -> str:
    """Best effort: the broker jar `scripts/stack` installed (its version is in the name)."""
    jars = sorted((REPO / ".cache/stack/kafka/libs").glob("kafka_*-*.jar"))
    names = [j.name for j in jars if j.name.count("-") == 1 and j.name.endswith(".jar")]
    return names[0].split("-", 1)[1].removesuffix(".jar") if names else "unknown"


def machine_facts(engines: Engines, wrk: str) -> dict[str, str]:
    load = os.getloadavg()
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": str(os.cpu_count()),
        "cpu": _safe(_cpu_model),
        "load average at start (1/5/15 min)": " ".join(f"{x:.2f}" for x in load),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": _safe(lambda: _postgres(engines.database_url)),
        "kafka broker": _safe(_kafka_broker),
        "librdkafka / confluent-kafka": f"{confluent_kafka.libversion()[0]} / "
        f"{confluent_kafka.version()}",
        "elasticsearch": _safe(lambda: _elasticsearch(engines.elasticsearch)),
        "redis": _safe(lambda: _redis(engines.redis)),
        "uvicorn / fastapi / uvloop / httptools": " / ".join(
            _safe(lambda p=p: version(p)) for p in ("uvicorn", "fastapi", "uvloop", "httptools")
        ),
        "wrk": _safe(lambda: _wrk_version(wrk)),
    }


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0]


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "MISS"
