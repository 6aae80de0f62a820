"""A shop's webhook receiver on 127.0.0.1 that misbehaves on cue: per `webhook-id`, the n-th
request gets `script[n]` ("500", "timeout" = no answer for `hang_s`, or "200"; the last entry
repeats). Every request is recorded with its headers and raw body."""

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: str


@dataclass
class Receiver:
    url: str
    script: Sequence[str]
    hang_s: float
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_id(self, webhook_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.headers.get("webhook-id") == webhook_id]


@contextmanager
def webhook_receiver(script: Sequence[str], hang_s: float = 1.0) -> Iterator[Receiver]:
    receiver = Receiver("", script, hang_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                seen = sum(
                    1
                    for r in receiver.requests
                    if r.headers.get("webhook-id") == headers.get("webhook-id")
                )
                answer = receiver.script[min(seen, len(receiver.script) - 1)]
                receiver.requests.append(Received(headers, body, answer))
            if answer == "timeout":
                time.sleep(receiver.hang_s)
                return  # the client gave up long ago; closing without an answer
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/pulse"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
