"""OpenTelemetry traces: entry's request -> the message's headers -> the consumer -> the stores.

Off unless an OTLP endpoint is configured (`PULSE_OTLP_ENDPOINT`, or OpenTelemetry's own
`OTEL_EXPORTER_OTLP_ENDPOINT`). Off means off: no SDK is loaded, no span object is made, and
every helper here returns after one boolean check, so the hot paths pay nothing measurable.

A consumer batch holds messages of many traces. Its span continues the trace of the batch's
first message and links to every other message's span, as OpenTelemetry's messaging
conventions suggest for batch receives; the stores' spans are children of the batch span.
"""

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from common_messaging import OutgoingMessage

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)

_tracer: "Tracer | None" = None
_provider: "TracerProvider | None" = None


def enabled() -> bool:
    return _tracer is not None


def configure_tracing(
    service: str, endpoint: str | None = None, *, exporter: "SpanExporter | None" = None
) -> bool:
    """Export spans to `endpoint` (OTLP over HTTP), or to `exporter` (tests); else stay off."""
    global _tracer, _provider
    shutdown_tracing()
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint and exporter is None:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"pulse-{service}"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        url = endpoint.rstrip("/") + "/v1/traces" if endpoint else None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        log.info("tracing_enabled exporter=otlp service=pulse-%s", service)
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _provider, _tracer = provider, provider.get_tracer("pulse")
    return True


def shutdown_tracing() -> None:
    """Flush and stop the exporter (at process exit, or before reconfiguring)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def current_trace_id() -> str | None:
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def _carrier_context(headers: Mapping[str, str]) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract(dict(headers))


@contextlib.contextmanager
def server_span(method: str, headers: Mapping[str, str]) -> Iterator[Any]:
    """The span of one HTTP request, continuing a caller's `traceparent` if it sent one."""
    if _tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(
        method, context=_carrier_context(headers), kind=SpanKind.SERVER
    ) as span:
        yield span


def with_trace_context(messages: Sequence[OutgoingMessage]) -> Sequence[OutgoingMessage]:
    """The messages with the current trace's `traceparent` header (unchanged when off)."""
    if _tracer is None:
        return messages
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    if not carrier:
        return messages
    return [replace(m, headers={**m.headers, **carrier}) for m in messages]


@contextlib.contextmanager
def batch_span(topic: str, headers: Sequence[Mapping[str, str]]) -> Iterator[None]:
    """The span of one consumer batch: child of the first message's trace, linked to the rest."""
    if _tracer is None or not headers:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.trace import Link, SpanKind

    carriers = [_carrier_context(h) for h in headers]
    traced = [c for c in carriers if trace.get_current_span(c).get_span_context().is_valid]
    links = [Link(trace.get_current_span(c).get_span_context()) for c in traced[1:]]
    attributes: dict[str, str | int] = {
        "messaging.destination.name": topic,
        "messaging.batch.message_count": len(headers),
    }
    with _tracer.start_as_current_span(
        f"process {topic}",
        context=traced[0] if traced else None,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=attributes,
    ):
        yield


@contextlib.contextmanager
def span(name: str) -> Iterator[None]:
    """A child span of the current one (a store write)."""
    if _tracer is None:
        yield
        return
    with _tracer.start_as_current_span(name):
        yield
