"""`pulse entry --workers N`: entry_service in N uvicorn worker processes on one port (and
`serve_workers`, which `pulse dashboard --workers N` uses with its own factory).

uvicorn starts each worker as a fresh (spawned) process, so the app must come from an import
string; `create_app` below is that factory. Each worker configures its own logging and builds
its own app from the environment (engines, limits), exactly as `pulse entry` does with one.
"""

import os

import uvicorn
from fastapi import FastAPI

from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from servicekit.logs import configure_logging
from servicekit.settings import CommonSettings

FACTORY = "pulse.entry_workers:create_app"
# uvicorn kills and restarts a worker that does not answer its supervisor's ping within this
# many seconds. Its default (5 s) is shorter than a worker's start (imports, engine clients) on
# a busy machine, and than a GIL-bound worker's pause in a spike: each kill would drop the
# worker's in-flight requests, and a start that never fits in it restarts forever.
HEALTHCHECK_TIMEOUT_S = 30


def create_app() -> FastAPI:
    """One worker's entry_service (called by uvicorn in every worker process)."""
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format or "json", service="entry")
    return create_entry(EntrySettings())


def serve_workers(
    host: str, port: int, workers: int, common: CommonSettings, factory: str = FACTORY
) -> None:
    """Run until SIGINT/SIGTERM; uvicorn's supervisor restarts a worker that dies."""
    # Spawned workers read their settings from the environment, and nothing else reaches
    # them: hand down the data directory `--data-dir` may have chosen.
    os.environ["PULSE_DATA_DIR"] = str(common.data_dir)
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=common.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=common.forwarded_allow_ips,
        timeout_worker_healthcheck=HEALTHCHECK_TIMEOUT_S,
    )
