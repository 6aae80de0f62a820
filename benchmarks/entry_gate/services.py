"""The processes of the entry-gate benchmark: their environment and core_service.

entry_service is started by `benchmarks.common.http_load.server` (uvicorn, one worker, the same
flags as the other HTTP benchmarks); core_service runs as `pulse core`, the deployed command. Both
get only the variables set here: the scratch database, topic prefix and consumer groups, Redis,
no Elasticsearch (the analytics index is the scratch database's table).
"""

import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common.http_load import free_port, ready_process, server_env
from benchmarks.entry_gate.scratch import EntryScratch

RATE_LIMIT_PER_IP = 100_000_000  # all load comes from 127.0.0.1
RATE_LIMIT_PER_USER = 1_000_000


def common_env(s: EntryScratch, data_dir: Path) -> dict[str, str]:
    return server_env(
        {
            "PULSE_DATABASE_URL": s.database_url,
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": s.engines.kafka,
            "PULSE_KAFKA_TOPIC_PREFIX": s.topic_prefix,
            "PULSE_REDIS_URL": s.engines.redis,
            "PULSE_DATA_DIR": str(data_dir),
            "PULSE_LOG_LEVEL": "WARNING",
        }
    )


def entry_env(s: EntryScratch, data_dir: Path) -> dict[str, str]:
    """The same for both variants: answer `reserved` without waiting for core_service, and
    rate limits too high to refuse anything, so the gate is what is measured."""
    return {
        **common_env(s, data_dir),
        "PULSE_ENTRY_CONFIRM_WAIT_S": "0",
        "PULSE_ENTRY_RATE_LIMIT_PER_IP": str(RATE_LIMIT_PER_IP),
        "PULSE_ENTRY_RATE_LIMIT_PER_USER": str(RATE_LIMIT_PER_USER),
    }


def core_env(s: EntryScratch, data_dir: Path) -> dict[str, str]:
    return {
        **common_env(s, data_dir),
        "PULSE_ADMIN_TOKEN": f"adm_bench_{secrets.token_hex(12)}",
        "PULSE_CONSUMER_GROUP": s.consumer_group,
        "PULSE_ENTRIES_CONSUMER_GROUP": s.entries_consumer_group,
    }


@contextmanager
def core_process(env: Mapping[str, str], log: Path) -> Iterator[int]:
    """`pulse core` on a free loopback port; yields its pid once /readyz answers 200."""
    port = free_port()
    args = [sys.executable, "-m", "pulse.cli", "core", "--host", "127.0.0.1", "--port", str(port)]
    with ready_process(args, port, env, log) as proc:
        yield proc.pid
