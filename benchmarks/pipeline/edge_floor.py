"""Where the edge's time goes, measured in the same run as the HTTP figures.

- `create_app` (a uvicorn factory): the real entry_service with one part swapped through its
  composition root, `create_app(settings, open_ports=...)`: the publisher acknowledges at once
  (no Kafka). Everything else, the framework, middleware, parse, site, publish call, is real.
- `domain_only`: `ingest()` itself (parse, site from the cache, resolve, serialise) called in a
  loop in this process, with the same no-op publisher: neither HTTP nor FastAPI nor Kafka.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from fastapi import FastAPI

from benchmarks.common.acknowledging_publisher import AcknowledgingPublisher
from entry_service.domain.ingestion import RequestContext, ingest
from entry_service.main import create_app as create_entry_app
from entry_service.settings import EntrySettings, get_settings
from entry_service.wiring import EntryServicePorts, open_ports


@asynccontextmanager
async def _without_kafka(settings: EntrySettings) -> AsyncIterator[EntryServicePorts]:
    async with open_ports(settings) as ports:
        ingest_ports = replace(ports.ingest, publisher=AcknowledgingPublisher())
        yield replace(ports, ingest=ingest_ports)


def create_app() -> FastAPI:
    """entry_service whose event publisher acknowledges at once (uvicorn --factory)."""
    return create_entry_app(get_settings(), open_ports=_without_kafka)


def domain_only(settings: EntrySettings, body: bytes, seconds: float) -> float:
    """Requests per second of `ingest()` alone, on this process's CPU."""
    return asyncio.run(_domain_only(settings, body, seconds))


async def _domain_only(settings: EntrySettings, body: bytes, seconds: float) -> float:
    async with _without_kafka(settings) as ports:
        p = ports.ingest

        async def once() -> None:
            ctx = RequestContext(None, "benchmark", datetime.now(UTC))
            await ingest(body, ctx, p.limits, p.sites, p.publisher)

        for _ in range(200):  # warm: the site cache, pydantic's validators
            await once()
        done, started = 0, time.process_time()
        while time.process_time() - started < seconds:
            for _ in range(100):
                await once()
            done += 100
        return done / (time.process_time() - started)
