"""Open-loop load for the entry gate: requests sent on a fixed schedule, whatever the answers.

wrk is closed-loop (each connection waits for its answer before sending again), so a saturated
server slows the load down and its queueing never shows. Here request i is due at
`start + i / rate`; its latency is counted from that due time, not from when a connection
was free to send it, so waiting for a connection (the client's queue) counts as latency
(no coordinated omission). The send lag (how late the client actually wrote each request)
is reported too: a client that cannot keep up shows there, not as a faster server.

The client is a minimal HTTP/1.1 keep-alive pool on asyncio streams (uvloop when present):
one Python process sends thousands of requests a second with little CPU, which the two
shared cores need for the server. `follow=True` makes each shot a shopper's page: a
`reserved` answer is polled at `GET /v1/entries/{id}` with the snippet's backoff (250 ms
doubling to 2 s, +-50% jitter) until it is final.
"""

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from benchmarks.common.http_load import LoadError

POLL_BASE_S = 0.25  # the snippet's ENTRY_TIMING.poll
POLL_CAP_S = 2.0
SHOT_DEADLINE_S = 60.0  # a shopper's whole attempt, polling included
SHED_TRIES = 6  # the snippet's entry retries (snippet/src/entries.js)
SHED_BACKOFF_S = 0.5


@dataclass
class Shot:
    due: float  # seconds after the start
    sent: float = 0.0  # when the client wrote it
    answered: float = 0.0  # the POST's answer
    final: float = 0.0  # the answer was confirmed/rejected (follow=True)
    status: int = 0  # HTTP status of the POST (0: transport error)
    outcome: str = ""  # reserved / confirmed / rejected:<reason> / error
    polls: int = 0
    shed: int = 0  # 503 answers with Retry-After, sent again

    @property
    def latency(self) -> float:
        return self.answered - self.due


@dataclass
class OpenLoopResult:
    rate: float
    shots: list[Shot] = field(default_factory=list)
    seconds: float = 0.0  # from the first due time to the last final answer (or answer)

    def percentile(self, values: list[float], p: float) -> float:
        ordered = sorted(values)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def latency_ms(self, p: float) -> float:
        return 1000 * self.percentile([s.latency for s in self.shots if s.status], p)

    def send_lag_ms(self, p: float) -> float:
        return 1000 * self.percentile([s.sent - s.due for s in self.shots], p)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.shots:
            counts[s.outcome] = counts.get(s.outcome, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def errors(self) -> int:
        return sum(1 for s in self.shots if s.status != 202)

    @property
    def last_final_s(self) -> float:
        return max((s.final for s in self.shots), default=0.0)


class HttpPool:
    """At most `size` keep-alive connections to one host; a request waits for a free one."""

    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._free = asyncio.Semaphore(size)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        status, data, _ = await self.request_with_retry_after(method, path, headers, body)
        return status, data

    async def request_with_retry_after(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes, float | None]:
        """The status, the body and the answer's Retry-After in seconds (None without one)."""
        async with self._free:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = await asyncio.open_connection(self._host, self._port)
            reader, writer = conn
            try:
                lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                lines.append(f"Content-Length: {len(body)}")
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                head = await reader.readuntil(b"\r\n\r\n")
                status, length, retry_after = _parse_head(head)
                data = await reader.readexactly(length)
            except BaseException:
                writer.close()
                raise
            self._idle.append(conn)
            return status, data, retry_after

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def _parse_head(head: bytes) -> tuple[int, int, float | None]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "content-length" not in fields:
        raise LoadError(f"answer without Content-Length: {lines[0]}")
    retry_after = fields.get("retry-after")
    return status, int(fields["content-length"]), float(retry_after) if retry_after else None


EntryRequest = Callable[[int], tuple[str, dict[str, str], bytes]]  # i -> path, headers, body


async def run_open_loop(
    url: str,
    make: EntryRequest,
    *,
    rate: float,
    count: int,
    connections: int,
    follow: bool = False,
) -> OpenLoopResult:
    """Send `count` requests at `rate` per second (open loop); with `follow`, poll every
    `reserved` answer until it is final."""
    pool = HttpPool(url, connections)
    result = OpenLoopResult(rate)
    start = time.monotonic() + 0.2  # tasks and the first connections set up before the clock
    tasks = []
    try:
        for i in range(count):
            shot = Shot(due=i / rate)
            result.shots.append(shot)
            delay = start + shot.due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_fire(pool, make(i), shot, start, follow)))
        await asyncio.gather(*tasks)
    finally:
        pool.close()
    ends = [s.final if follow else s.answered for s in result.shots]
    result.seconds = max(ends, default=0.0)
    return result


async def _fire(
    pool: HttpPool, req: tuple[str, dict[str, str], bytes], shot: Shot, start: float, follow: bool
) -> None:
    path, headers, body = req
    shot.sent = time.monotonic() - start
    try:
        status, data = await asyncio.wait_for(
            _post(pool, path, headers, body, shot), SHOT_DEADLINE_S
        )
    except (OSError, TimeoutError, asyncio.IncompleteReadError, LoadError) as exc:
        shot.answered = shot.final = time.monotonic() - start
        shot.outcome = f"error:{type(exc).__name__}"
        return
    shot.answered = time.monotonic() - start
    shot.status = status
    answer = json.loads(data) if status == 202 else {}
    shot.outcome = _outcome(status, answer)
    if follow:
        await _follow(pool, answer, shot, start)
    shot.final = time.monotonic() - start if follow else shot.answered


async def _post(
    pool: HttpPool, path: str, headers: dict[str, str], body: bytes, shot: Shot
) -> tuple[int, bytes]:
    """The POST as the snippet sends it: a 503 with Retry-After (a saturated worker shedding)
    is sent again with the same key after at least that long; the time counts as latency."""
    for attempt in range(SHED_TRIES):
        status, data, retry_after = await pool.request_with_retry_after("POST", path, headers, body)
        if status != 503 or retry_after is None or attempt == SHED_TRIES - 1:
            return status, data
        shot.shed += 1
        await asyncio.sleep(
            max(retry_after, SHED_BACKOFF_S * 2**attempt) * (1 + random.random() / 2)
        )
    raise AssertionError("unreachable")


async def _follow(pool: HttpPool, answer: dict[str, object], shot: Shot, start: float) -> None:
    """Poll a `reserved` answer as the snippet does, until final or the shopper's deadline."""
    attempt = 0
    while answer.get("status") == "reserved":
        if time.monotonic() - start - shot.due > SHOT_DEADLINE_S:
            shot.outcome = "still_reserved"
            return
        delay = min(POLL_CAP_S, POLL_BASE_S * 2**attempt) * (0.5 + random.random())
        await asyncio.sleep(min(POLL_CAP_S, delay))
        attempt += 1
        shot.polls += 1
        try:
            status, data = await pool.request("GET", f"/v1/entries/{answer['entry_id']}", {})
        except (OSError, asyncio.IncompleteReadError, LoadError):
            continue  # the page retries its poll
        if status == 200:
            answer = json.loads(data)
    shot.outcome = _outcome(202, answer)


def _outcome(status: int, answer: dict[str, object]) -> str:
    if status != 202:
        return f"http_{status}"
    if answer.get("status") == "rejected":
        return f"rejected:{answer.get('reason')}"
    return str(answer.get("status"))
