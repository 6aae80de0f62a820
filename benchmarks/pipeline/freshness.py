"""Event -> queryable: how long from a browser's POST until the event counts in the metrics.

The real parts, on the run's scratch resources: entry_service under uvicorn, and core_service's
consumers as `pulse worker` runs them (the store group, then the index group through the feed
topic). An open-loop load posts batches of fresh events at a constant rate (half the edge's
measured capacity); every `probe_every`-th request's events are probes. A poller asks the
analytics alias (what the dashboard reads) every `poll_s` for the probes not seen yet; an
event's latency is from its request's send to the first search that finds it, so it includes
the edge, Kafka, both consumer groups and Elasticsearch's refresh interval (1 s).
"""

import asyncio
import json
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from elasticsearch import Elasticsearch

from benchmarks.common.http_load import free_port, ready_process, server, server_env
from benchmarks.common.scratch import Scratch
from benchmarks.pipeline.dataset import SLUGS, USER_AGENTS, Catalog


@dataclass
class Freshness:
    rate_rps: float  # the rate asked for
    sent_rps: float  # the rate achieved (open loop: sends are not held back by answers)
    requests: int
    failed: int
    probes: int
    latencies_s: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    @property
    def complete(self) -> bool:
        """Every request acknowledged and every probe found: otherwise the latencies measured
        are of the lucky few, and say nothing of the rest."""
        return self.failed == 0 and len(self.latencies_s) == self.probes

    @property
    def offered(self) -> bool:
        """The client sent at the rate asked (within 10 %): a slower client measured a lower
        rate than the target's."""
        return self.sent_rps >= 0.9 * self.rate_rps

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_s) if self.latencies_s else float("nan")


def live_env(s: Scratch, extra: dict[str, str]) -> dict[str, str]:
    """Topics of this phase only (`<prefix>live.`), so the worker starts on empty topics rather
    than behind the consumer phase's and the HTTP phase's events."""
    return {**extra, "PULSE_KAFKA_TOPIC_PREFIX": s.live_topic_prefix}


def worker_env(
    s: Scratch,
    tmp: Path,
    *,
    topic_prefix: str,
    group: str,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """`pulse worker`'s environment on the scratch's engines, topics and consumer groups."""
    return server_env(
        {
            "PULSE_DATABASE_URL": s.database_url,
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": s.engines.kafka,
            "PULSE_KAFKA_TOPIC_PREFIX": topic_prefix,
            "PULSE_ELASTICSEARCH_URL": s.engines.elasticsearch,
            "PULSE_ELASTICSEARCH_INDEX_PREFIX": s.es_prefix,
            # Groups of this run only (Kafka groups are cluster-wide; cleanup deletes them).
            "PULSE_CONSUMER_GROUP": group,
            "PULSE_INDEX_CONSUMER_GROUP": group + "-index",
            "PULSE_ENTRIES_CONSUMER_GROUP": group + "-entries",
            "PULSE_DATA_DIR": str(tmp / "worker-data"),
            "PULSE_LOG_LEVEL": "WARNING",
            **(extra or {}),
        }
    )


@contextmanager
def running_worker(s: Scratch, tmp: Path) -> Iterator[None]:
    port = free_port()
    pulse = str(Path(sys.executable).with_name("pulse"))
    args = [pulse, "worker", "--host", "127.0.0.1", "--port", str(port)]
    env = worker_env(s, tmp, topic_prefix=s.live_topic_prefix, group=s.consumer_group + "-live")
    with ready_process(args, port, env, tmp / "worker.log"):
        yield


def _batch(catalog: Catalog, size: int) -> tuple[list[str], bytes]:
    now = datetime.now(UTC).isoformat()
    ids = [str(uuid.uuid4()) for _ in range(size)]
    visitor = uuid.uuid4().hex[:12]
    events = [
        {
            "event_id": event_id,
            "definition_id": str(catalog.definitions[(SLUGS[i % len(SLUGS)], "view")]),
            "type": "page_view",
            "occurred_at": now,
            "anonymous_id": f"fresh-{visitor}",
            "url": f"https://shop.example/{SLUGS[i % len(SLUGS)]}",
            "user_agent": USER_AGENTS[i % len(USER_AGENTS)],
        }
        for i, event_id in enumerate(ids)
    ]
    body = {"site_key": catalog.site_key, "events": events}
    return ids, json.dumps(body, separators=(",", ":")).encode()


async def _load(
    url: str,
    catalog: Catalog,
    sent_at: dict[str, float],
    rate: float,
    seconds: float,
    size: int,
    probe_every: int,
) -> tuple[int, int, float]:
    failed = 0
    tasks: set[asyncio.Task[None]] = set()
    # As many connections as wrk's: the server answers in milliseconds, so 32 carry well over
    # the rates asked here, and httpcore's pool costs the client more per request the more
    # connections and queued requests it holds (with 256 and an unbounded backlog, the
    # client, not the server, stalled for many minutes). No request waits in the client's
    # queue: a full client sends late, which the sent rate shows.
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    in_flight = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def post(i: int) -> None:
            nonlocal failed
            ids, body = _batch(catalog, size)
            t = time.monotonic()
            try:
                r = await client.post(
                    "/v1/events", content=body, headers={"content-type": "application/json"}
                )
                ok = r.status_code == 202
            except httpx.HTTPError:
                ok = False
            finally:
                in_flight.release()
            if not ok:
                failed += 1
            elif i % probe_every == 0:
                sent_at.update(dict.fromkeys(ids, t))  # once acknowledged: a probe to find

        started = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await in_flight.acquire()
            if time.monotonic() - started > 3 * seconds:  # bounded: what was sent is counted
                in_flight.release()
                n = i
                break
            task = asyncio.create_task(post(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sending = time.monotonic() - started
        await asyncio.gather(*tasks)
    return n, failed, n / sending if sending > 0 else 0.0


@dataclass
class _Poller:
    """Asks the alias for the probes not seen yet, every `poll_s`, on a thread of its own,
    until the load is over and every probe is seen (or the timeout)."""

    es: Elasticsearch
    alias: str
    sent_at: dict[str, float]
    poll_s: float
    seen: dict[str, float] = field(default_factory=dict)
    load_done: threading.Event = field(default_factory=threading.Event)

    def __call__(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            wanted = [i for i in list(self.sent_at) if i not in self.seen]
            if not wanted and self.load_done.is_set():
                return
            if wanted:
                # Ids only: parsing whole documents by the thousand every 0.1 s, in the load
                # client's process, held back the client's own sending.
                answer = self.es.search(
                    index=self.alias,
                    query={"ids": {"values": wanted}},
                    size=len(wanted),
                    source=False,
                    filter_path=["hits.hits._id"],
                )
                now = time.monotonic()
                for hit in answer.get("hits", {}).get("hits", []):
                    self.seen.setdefault(hit["_id"], now)
            time.sleep(self.poll_s)


def event_to_queryable(
    s: Scratch,
    catalog: Catalog,
    entry_env: dict[str, str],
    tmp: Path,
    *,
    rate_rps: float,
    seconds: float = 10.0,
    batch_events: int = 10,
    probe_every: int = 10,
    poll_s: float = 0.1,
) -> Freshness:
    es = Elasticsearch(s.engines.elasticsearch, request_timeout=30)
    try:
        with (
            running_worker(s, tmp),
            server(
                "entry_service.main:create_app", live_env(s, entry_env), tmp / "fresh-entry.log"
            ) as url,
        ):
            sent_at: dict[str, float] = {}
            poller = _Poller(es, s.es_prefix, sent_at, poll_s)
            polling = threading.Thread(target=poller, args=(seconds + 60,), name="bench-poller")
            polling.start()
            try:
                n, failed, sent_rps = asyncio.run(
                    _load(url, catalog, sent_at, rate_rps, seconds, batch_events, probe_every)
                )
            finally:
                poller.load_done.set()
                polling.join(seconds + 90)
    finally:
        es.close()
    result = Freshness(rate_rps, sent_rps, n, failed, len(sent_at))
    result.latencies_s = [poller.seen[i] - sent_at[i] for i in sent_at if i in poller.seen]
    return result
