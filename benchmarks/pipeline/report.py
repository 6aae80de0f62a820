"""The pipeline benchmark's printed report: figures and ratios with PASS/MISS."""

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common.facts import out, verdict
from benchmarks.common.http_load import LoadResult
from benchmarks.pipeline.baselines import Measurement
from benchmarks.pipeline.consumer_run import ConsumerResult
from benchmarks.pipeline.freshness import Freshness

REPO = Path(__file__).resolve().parents[1]
NO_KAFKA = "entry, no Kafka"


@dataclass
class Figures:
    events: int
    kafka: Measurement | None = None
    postgres: Measurement | None = None
    postgres_json: Measurement | None = None
    postgres_copy: Measurement | None = None
    elasticsearch: Measurement | None = None
    consumer: ConsumerResult | None = None
    http: list[LoadResult] = field(default_factory=list)
    http_settings: str = ""
    edge_domain_rps: float | None = None  # ingest() alone, in process (no HTTP, no Kafka)
    freshness: Freshness | None = None  # at half the edge's capacity (the target's rate)
    freshness_sustained: Freshness | None = None  # at half the store group's capacity
    freshness_trickle: Freshness | None = None  # at a few requests a second: the path's floor
    facts: dict[str, str] = field(default_factory=dict)


def ratios(f: Figures) -> list[tuple[str, float, str]]:
    """(name, value, target note) for every ratio the run can compute."""
    rows: list[tuple[str, float, str]] = []
    c, k, p, e = f.consumer, f.kafka, f.postgres, f.elasticsearch
    if c and p and e:
        # Postgres's raw speed is the faster of its two ways in (COPY, when measured).
        best = max(
            (m for m in (p, f.postgres_json, f.postgres_copy) if m), key=lambda m: m.per_second
        )
        r = c.per_second / min(best.per_second, e.per_second)
        rows.append(
            ("consumer / min(best raw Postgres, raw ES)", r, f"target >= 0.50  {verdict(r, 0.5)}")
        )
        for m in (p, f.postgres_json):
            if m and m is not best:
                r = c.per_second / min(m.per_second, e.per_second)
                rows.append((f"consumer / min({m.name}, raw ES)", r, "context only"))
    if c and k:
        rows.append(("consumer / raw Kafka produce", c.per_second / k.per_second, "context only"))
    by_name = {h.name: h for h in f.http}
    entry, bare = by_name.get("entry_service"), by_name.get("bare FastAPI")
    if entry and bare and bare.per_second:
        r = entry.per_second / bare.per_second
        rows.append(
            ("entry_service / bare FastAPI (req/s)", r, f"target >= 0.50  {verdict(r, 0.5)}")
        )
        no_kafka = by_name.get(NO_KAFKA)
        if no_kafka:
            r = no_kafka.per_second / bare.per_second
            rows.append((f"{NO_KAFKA} / bare FastAPI (req/s)", r, "context: Kafka's share"))
        # Per CPU second of the server process (its librdkafka threads included): what each
        # would serve with a core to itself, unmoved by the engines sharing the machine.
        for h in (entry, no_kafka):
            if h and h.cpu_ms_per_request and bare.cpu_ms_per_request:
                r = bare.cpu_ms_per_request / h.cpu_ms_per_request
                rows.append((f"{h.name} / bare FastAPI (per CPU second)", r, "context"))
    return rows


def print_report(f: Figures) -> None:
    out()
    out(f"Pulse pipeline benchmark: {f.events:,} events")
    out("-" * 78)
    out(f"{'figure':<44}{'events/s':>12}{'seconds':>10}")
    for m in (f.kafka, f.postgres, f.postgres_json, f.postgres_copy, f.elasticsearch):
        if m:
            out(f"{m.name:<44}{m.per_second:>12,.0f}{m.seconds:>10.2f}")
    if f.consumer:
        c = f.consumer
        out(f"{'consumer: stored, enriched and indexed':<44}{c.per_second:>12,.0f}"
            f"{c.seconds:>10.2f}")  # fmt: skip
        if c.store_seconds:
            out(f"{'  store group alone (Postgres + feed)':<44}{c.events / c.store_seconds:>12,.0f}"
                f"{c.store_seconds:>10.2f}")  # fmt: skip
        out(f"  group join before the first message (untimed): {c.join_seconds:.2f} s")
        for phase, seconds in c.phases.split().items():
            share = seconds / c.seconds if c.seconds else 0.0
            out(f"  {phase:<42}{seconds:>8.2f} s {share:>6.0%}")
    if f.http:
        out()
        out(f"HTTP: {f.http_settings}")
        out(f"{'server':<16}{'req/s':>9}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'non-2xx':>9}{'sock err':>9}{'requests':>10}{'CPU ms/req':>11}")  # fmt: skip
        for h in f.http:
            out(f"{h.name:<16}{h.per_second:>9,.0f}{h.per_second * 10:>10,.0f}{h.p50_ms:>9.2f}"
                f"{h.p99_ms:>9.2f}{h.non_2xx:>9}{h.socket_errors:>9}{h.requests:>10,}"
                f"{h.cpu_ms_per_request:>11.3f}")  # fmt: skip
    _print_edge_floor(f)
    out()
    out("Ratios (same run, same machine)")
    for name, value, note in ratios(f):
        out(f"  {name:<42}{_ratio(value):>7}   {note}")
    out()
    out("Summary")
    for key, text_value in summary(f).items():
        out(f"  {key} = {text_value}")
    out()
    out("Machine")
    for key, fact in f.facts.items():
        out(f"  {key:<40}{fact}")


def _print_edge_floor(f: Figures) -> None:
    if f.edge_domain_rps:
        out(f"ingest() alone, in process (no HTTP, FastAPI or Kafka): {f.edge_domain_rps:,.0f} "
            f"req/s of CPU")  # fmt: skip
    for label, fr, target in (
        ("at half the edge's capacity", f.freshness, True),
        ("at half the store group's capacity (context)", f.freshness_sustained, False),
        ("at a trickle: the path's own latency (context)", f.freshness_trickle, False),
    ):
        if fr:
            _print_freshness(label, fr, target)


def _print_freshness(label: str, fr: Freshness, target: bool) -> None:
    out()
    out(f"Event -> queryable {label}: {fr.requests:,} requests at {fr.sent_rps:,.0f} req/s "
        f"(asked {fr.rate_rps:,.0f}), {fr.failed} failed; {len(fr.latencies_s):,} of "
        f"{fr.probes:,} probe events found")  # fmt: skip
    verdict_text = ""
    if target:
        met = (
            verdict(2.0 / max(fr.percentile(0.95), 1e-9), 1.0)
            if fr.complete and fr.offered
            else "MISS"
        )
        verdict_text = f"target p95 <= 2 s  {met}"
    if not fr.complete:
        verdict_text += "  (incomplete: failed requests or probes never found)"
    if not fr.offered:
        verdict_text += "  (the client sent below the rate asked: not the target's rate)"
    out(f"  p50 {fr.median:.2f} s   p95 {fr.percentile(0.95):.2f} s   "
        f"p99 {fr.percentile(0.99):.2f} s   max {fr.percentile(1.0):.2f} s   "
        f"{verdict_text}")  # fmt: skip


def summary(f: Figures) -> dict[str, str]:
    s: dict[str, str] = {"events": str(f.events)}
    for key, m in (
        ("raw_kafka", f.kafka),
        ("raw_postgres", f.postgres),
        ("raw_postgres_json", f.postgres_json),
        ("raw_postgres_copy", f.postgres_copy),
        ("raw_es", f.elasticsearch),
    ):
        if m:
            s[f"{key}_events_per_s"] = f"{m.per_second:.0f}"
    if f.consumer:
        s["consumer_events_per_s"] = f"{f.consumer.per_second:.0f}"
    if f.edge_domain_rps:
        s["edge_ingest_alone_req_per_s"] = f"{f.edge_domain_rps:.0f}"
    for slug, fr in (
        ("", f.freshness),
        ("_sustained", f.freshness_sustained),
        ("_trickle", f.freshness_trickle),
    ):
        if fr:
            s[f"event_to_queryable{slug}_p50_s"] = f"{fr.median:.2f}"
            s[f"event_to_queryable{slug}_p95_s"] = f"{fr.percentile(0.95):.2f}"
            s[f"event_to_queryable{slug}_rate_req_per_s"] = f"{fr.sent_rps:.0f}"
    slugs = {"entry_service": "entry", NO_KAFKA: "entry_no_kafka"}
    for h in f.http:
        slug = slugs.get(h.name, "bare")
        s[f"http_{slug}_req_per_s"] = f"{h.per_second:.0f}"
        s[f"http_{slug}_p50_ms"] = f"{h.p50_ms:.2f}"
        s[f"http_{slug}_p99_ms"] = f"{h.p99_ms:.2f}"
        s[f"http_{slug}_non_2xx"] = str(h.non_2xx + h.socket_errors)
    for name, value, note in ratios(f):
        s[f"ratio {name}"] = f"{_ratio(value)} ({note.split('  ')[-1]})"
    return s


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"
