"""`pulse worker --workers N`: core_service's consumers in N processes, one consumer group each.

Every process runs every loop (the store group, the reservations, the index group), and Kafka
shares each topic's partitions among the group's members: N processes (or N pods of one) scale
the consumer up to the topics' partition count (`PULSE_KAFKA_PARTITIONS`, 6 by default). They
are uvicorn worker processes on one port, for the probes; `/metrics` answers from whichever
process takes the scrape, so scrape pods, not the shared port, when N > 1.
"""

import os

import uvicorn
from fastapi import FastAPI

from core_service.settings import CoreSettings
from core_service.worker import create_worker_app
from pulse.entry_workers import HEALTHCHECK_TIMEOUT_S
from servicekit.logs import configure_logging
from servicekit.settings import CommonSettings

FACTORY = "pulse.worker_processes:create_app"


class EmbeddedBusHasOneConsumer(RuntimeError):
    """pulse worker --workers N needs Kafka (PULSE_KAFKA_BOOTSTRAP_SERVERS): the embedded log has
    no partitions to share, so it serves one consumer process."""


def create_app() -> FastAPI:
    """One process's consumers (called by uvicorn in every worker process)."""
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format or "json", service="worker")
    return create_worker_app(CoreSettings())


def serve_workers(host: str, port: int, workers: int, common: CommonSettings) -> None:
    """Run until SIGINT/SIGTERM; uvicorn's supervisor restarts a process that dies."""
    if not common.bus.kafka_bootstrap_servers:
        raise EmbeddedBusHasOneConsumer(EmbeddedBusHasOneConsumer.__doc__)
    os.environ["PULSE_DATA_DIR"] = str(common.data_dir)
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=common.log_level.lower(),
        timeout_worker_healthcheck=HEALTHCHECK_TIMEOUT_S,
    )
