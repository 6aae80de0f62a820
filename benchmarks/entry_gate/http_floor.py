"""entry_service without Kafka, over HTTP: a uvicorn factory for the entry benchmark's floors.

The real app, built by its composition root with one part swapped (`open_ports(open_bus=...)`,
the approach of benchmarks/pipeline/edge_floor.py): the publisher acknowledges at once, so the
whole HTTP path (uvicorn, FastAPI, middleware, the route, the domain, the Redis script) is
measured without the publish and its delivery wait.

Its reservations never reach the ledger, so the answers' copies the script wrote in Redis are
not found by the scratch cleanup (it reads entry ids from Postgres): the publisher keeps each
message's id and writes them, one a line, to the file named by `ACKED_IDS_ENV` when the app
shuts down; the benchmark deletes those keys.
"""

import json
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from benchmarks.common.acknowledging_publisher import AcknowledgingPublisher
from common_messaging import EventPublisher, OutgoingMessage
from common_messaging.bus import BusSettings
from entry_service.main import create_app as create_entry_app
from entry_service.settings import get_settings
from entry_service.wiring import open_ports

FACTORY = "benchmarks.entry_gate.http_floor:create_app"
ACKED_IDS_ENV = "BENCH_ENTRY_ACKED_IDS"


class RecordingPublisher(AcknowledgingPublisher):
    """Acknowledges at once; keeps the messages' values (an append per publish, nothing
    parsed on the request path) and writes their ids to `path` on close."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._values: list[bytes] = []

    async def publish(self, topic: str, messages: Sequence[OutgoingMessage]) -> None:
        self._values.extend(m.value for m in messages)

    def close(self) -> None:
        ids = (json.loads(value)["message_id"] for value in self._values)
        self._path.write_text("".join(f"{i}\n" for i in ids))


def create_app() -> FastAPI:
    """entry_service whose publisher acknowledges at once (uvicorn --factory)."""
    publisher = RecordingPublisher(Path(os.environ[ACKED_IDS_ENV]))

    def open_bus(settings: BusSettings) -> EventPublisher:
        return publisher

    return create_entry_app(get_settings(), open_ports=partial(open_ports, open_bus=open_bus))
