"""The ids a log line carries: the request being served, and the trace it belongs to."""

from contextvars import ContextVar

from servicekit.tracing import current_trace_id

REQUEST_ID: ContextVar[str | None] = ContextVar("pulse_request_id", default=None)
TRACE_ID: ContextVar[str | None] = ContextVar("pulse_trace_id", default=None)


def current_ids() -> dict[str, str | None]:
    return {"request_id": REQUEST_ID.get(), "trace_id": TRACE_ID.get() or current_trace_id()}
