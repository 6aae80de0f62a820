"""A stand-in HTTP server that answers every request with one canned status, on a port of its
own (bound to port 0 and held): for the failure paths a real engine will not produce on cue."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class StubServer:
    url: str
    status: int
    paths: list[str] = field(default_factory=list)


@contextmanager
def stub_http(status: int, body: dict[str, object] | None = None) -> Iterator[StubServer]:
    """Every request gets `status` and `body` as JSON, with the header the Elasticsearch
    client checks for; the paths asked for are recorded."""
    payload = json.dumps(body or {"error": {"type": "stub"}, "status": status}).encode()
    stub = StubServer("", status)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            stub.paths.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(stub.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            return  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
