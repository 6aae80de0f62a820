"""Validate, resolve and publish one posted batch of event occurrences.

The edge does only what must happen before the 202: parse and validate, check the site
(cached), resolve the definition, correct the clock, stamp the receive time and the user agent,
and publish the batch with one wait for its acknowledgements: one message per visitor in the
batch (nearly always one a request), its events collected (`common_messaging.collected`). The
device and new-vs-returning are decided downstream, by core_service's store path, a batch at a
time (core_service/domain/enrichment.py): no per-visitor round trip on the request path.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from common_messaging import (
    EVENTS_RAW,
    BusUnavailableError,
    DeviceInfo,
    EventPublisher,
    EventType,
    OutgoingMessage,
    PurchaseInfo,
    encode_collected,
)
from common_messaging.visitors import visitor_key
from entry_service import metrics
from entry_service.domain.incoming import (
    EventTimeRefused,
    IncomingBatch,
    IncomingEvent,
    TypedBatch,
    corrected_time,
)
from entry_service.domain.sites import SiteConfig, SiteDirectory
from entry_service.domain.tokens import InvalidToken, verify_user_token
from entry_service.errors import (
    BatchTooLarge,
    BusUnavailable,
    InvalidBatch,
    InvalidJson,
    NoValidEvents,
    OriginNotAllowed,
    SiteInactive,
    SiteNotFound,
    UserTokenInvalid,
)
from servicekit.secrets import token_matches
from servicekit.tracing import with_trace_context

ParseUserAgent = Callable[[str | None], DeviceInfo]  # the entry path's device parse


@dataclass(frozen=True, slots=True)
class Limits:
    max_event_bytes: int
    max_batch_bytes: int
    max_batch_events: int
    retry_after_s: int = 2
    # Event times accepted, after clock-skew correction (see incoming.corrected_time).
    max_event_age: timedelta = timedelta(days=30)
    max_event_ahead: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class IngestPorts:
    """What `POST /v1/events` needs, as the wiring built it."""

    sites: SiteDirectory
    publisher: EventPublisher
    parse_user_agent: ParseUserAgent
    limits: Limits


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    error: str


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RequestContext:
    origin: str | None
    user_agent: str | None
    received_at: datetime
    # Server-to-server calls (`POST /v1/server/events`): the bearer, to match the site's secret.
    server_secret: str | None = None


@dataclass(frozen=True, slots=True)
class Voucher:
    """What the site vouched for in this batch: everything (its own server called), or the
    events of the user its signed token names."""

    everything: bool = False
    user_id: str | None = None

    def covers(self, event: IncomingEvent) -> bool:
        if self.everything:
            return True
        return self.user_id is not None and event.user_id in (None, self.user_id)


class _Reject(Exception):
    pass


def parse_batch(raw: bytes, limits: Limits) -> IncomingBatch | TypedBatch:
    if len(raw) > limits.max_batch_bytes:
        raise BatchTooLarge(f"batch is {len(raw)} bytes; the limit is {limits.max_batch_bytes}")
    # A body within the per-event limit cannot hold an oversized event: then, if everything in
    # it is valid, one pass of pydantic-core over the bytes replaces json.loads + per-event work.
    if len(raw) <= limits.max_event_bytes:
        try:
            typed = TypedBatch.model_validate_json(raw)
        except ValidationError:
            pass  # the slow path below says precisely what was wrong
        else:
            if len(typed.events) <= limits.max_batch_events:
                return typed
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidJson("body is not acceptable JSON: nested too deep") from exc
    if isinstance(body, dict) and len(body.get("events") or []) > limits.max_batch_events:
        raise BatchTooLarge(
            f"batch has {len(body['events'])} events; the limit is {limits.max_batch_events}",
            code="too_many_events",
        )
    try:
        return IncomingBatch.model_validate(body)
    except ValidationError as exc:
        raise InvalidBatch("batch did not validate", details=_field_errors(exc)) from exc


async def ingest(
    raw: bytes,
    ctx: RequestContext,
    limits: Limits,
    sites: SiteDirectory,
    publisher: EventPublisher,
) -> IngestResult:
    """Accept the good events of a batch; raise for batch-level faults (4xx/503 to the client)."""
    batch = parse_batch(raw, limits)
    site = await _authorised_site(batch.site_key, ctx.origin, sites)
    voucher = _voucher(batch, site, ctx)
    result = IngestResult()
    valid: list[tuple[IncomingEvent, PurchaseInfo | None, dict[str, Any], datetime]] = []
    # A body within the per-event limit cannot hold an oversized event: skip measuring each.
    check_sizes = len(raw) > limits.max_event_bytes
    for index, item in enumerate(batch.events):
        try:
            event = (
                item if isinstance(item, IncomingEvent) else _validate(item, limits, check_sizes)
            )
            purchase = _purchase(event)
            if voucher.user_id is not None and event.user_id is None:
                event = event.model_copy(update={"user_id": voucher.user_id})
            occurred = corrected_time(
                event.occurred_at,
                batch.sent_at,
                ctx.received_at,
                max_age=limits.max_event_age,
                max_ahead=limits.max_event_ahead,
            )
            valid.append((event, purchase, _resolve(event, site), occurred))
        except (_Reject, EventTimeRefused) as exc:
            result.rejected.append(Rejection(index, str(exc)))
        except ValidationError as exc:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in _field_errors(exc))
            result.rejected.append(Rejection(index, f"invalid_event: {detail}"))
    if not valid:
        raise NoValidEvents(
            "no event in the batch was valid",
            details={"rejected": [{"index": r.index, "error": r.error} for r in result.rejected]},
        )
    by_visitor: dict[bytes, list[dict[str, Any]]] = {}
    for event, purchase, attribution, occurred in valid:
        key, fields = _collected(
            event, purchase, attribution, occurred, voucher.covers(event), site, ctx
        )
        by_visitor.setdefault(key, []).append(fields)
    produced_at = datetime.now(UTC)
    messages = [
        message
        for key, events in by_visitor.items()
        for message in _collected_messages(key, events, produced_at)
    ]
    try:
        await publisher.publish(EVENTS_RAW, with_trace_context(messages))
    except BusUnavailableError as exc:
        metrics.kafka_error("publish")
        raise BusUnavailable(
            "events could not be stored right now; retry with the same event ids",
            headers={"Retry-After": str(limits.retry_after_s)},
        ) from exc
    result.accepted = len(valid)
    return result


async def _authorised_site(site_key: str, origin: str | None, sites: SiteDirectory) -> SiteConfig:
    site = await sites.by_key(site_key)
    if site is None:
        raise SiteNotFound(f"no site has the key {site_key!r}")
    if not site.active:
        raise SiteInactive("this site is deactivated and takes no events")
    if not site.allows_origin(origin):
        raise OriginNotAllowed(f"origin {origin!r} is not in the site's allowed origins")
    return site


def _voucher(batch: IncomingBatch | TypedBatch, site: SiteConfig, ctx: RequestContext) -> Voucher:
    if ctx.server_secret is not None:
        if not token_matches(ctx.server_secret, [site.signing_secret]):
            raise UserTokenInvalid(
                "server-to-server calls send `Authorization: Bearer <the site's signing secret>`"
            )
        return Voucher(everything=True)
    if batch.user_token is None:
        return Voucher()
    try:
        shopper = verify_user_token(batch.user_token, site.signing_secret, ctx.received_at)
    except InvalidToken as exc:
        raise UserTokenInvalid(f"{exc}; events are not accepted under a bad token") from exc
    return Voucher(user_id=shopper.user_id)


def _validate(item: Any, limits: Limits, check_size: bool) -> IncomingEvent:
    if not isinstance(item, dict):
        raise _Reject("invalid_event: an event must be a JSON object")
    if check_size:
        size = len(json.dumps(item, separators=(",", ":")).encode())
        if size > limits.max_event_bytes:
            raise _Reject(f"event_too_large: {size} bytes; the limit is {limits.max_event_bytes}")
    return IncomingEvent.model_validate(item)


def _purchase(event: IncomingEvent) -> PurchaseInfo | None:
    if event.type is not EventType.PURCHASE:
        return None
    try:
        return event.purchase()
    except ValidationError as exc:
        fields = ", ".join(e["field"] for e in _field_errors(exc))
        raise _Reject(
            f"invalid_purchase: properties need order_id, amount >= 0 and an ISO currency "
            f"code ({fields})"
        ) from exc


def _resolve(event: IncomingEvent, site: SiteConfig) -> dict[str, Any]:
    """The campaign and activity an occurrence counts for, from its definition."""
    if event.definition_id is not None:
        definition = site.definition_by_id(event.definition_id)
        if definition is None:
            raise _Reject(
                f"unknown_definition: {event.definition_id} is not a definition of this site"
            )
    else:
        assert event.name is not None
        definition = site.definition_by_name(event.name)
        if definition is None:
            # A custom call without a definition still counts for the user, not for a campaign.
            return {
                "definition_id": None,
                "campaign_id": None,
                "activity_id": None,
                "name": event.name,
            }
    if not definition.active:
        raise _Reject(f"definition_inactive: {definition.name!r} is deactivated")
    if definition.trigger_type is not event.type:
        raise _Reject(
            f"definition_type_mismatch: {definition.name!r} is a {definition.trigger_type.value} "
            f"definition, the event says {event.type.value}"
        )
    return {
        "definition_id": definition.id,
        "campaign_id": definition.campaign_id,
        "activity_id": definition.activity_id,
        "name": definition.name,
    }


def _collected(
    event: IncomingEvent,
    purchase: PurchaseInfo | None,
    attribution: dict[str, Any],
    occurred_at: datetime,
    trusted: bool,
    site: SiteConfig,
    ctx: RequestContext,
) -> tuple[bytes, dict[str, Any]]:
    """One accepted event as published: its partition key and `EventOccurred`'s fields,
    collected, not enriched."""
    # Serialised from the validated parts as they are: building an EventOccurred per event
    # only to serialise it again cost the edge more than parsing the batch did.
    fields = {
        "event_id": event.event_id,
        "site_id": site.id,
        **attribution,
        "type": event.type,
        "occurred_at": occurred_at,
        "received_at": ctx.received_at,
        "anonymous_id": event.anonymous_id,
        "user_id": event.user_id,
        "session_id": event.session_id,
        "url": event.url,
        "referrer": event.referrer,
        "purchase": purchase,
        "properties": event.properties,
        "trusted": trusted,
        "user_agent": event.user_agent or ctx.user_agent,
        "enriched": False,
    }
    # Keyed by visitor so one user's events stay in order on one partition.
    key = f"{site.id}:{visitor_key(event.user_id, event.anonymous_id)}".encode()
    return key, fields


# Under Kafka's default limit of a message (1 MB, `message.max.bytes`) with room for headers.
MAX_MESSAGE_BYTES = 900_000


def _collected_messages(
    key: bytes, events: list[dict[str, Any]], produced_at: datetime
) -> list[OutgoingMessage]:
    """One visitor's events of the request in one message, split in halves while it is over
    `MAX_MESSAGE_BYTES` (a batch within its byte limit can still grow past it: the request's
    user agent header is copied into each event that brings none)."""
    value = encode_collected(
        events, message_id=events[0]["event_id"], producer="entry_service", produced_at=produced_at
    )
    if len(value) <= MAX_MESSAGE_BYTES or len(events) == 1:
        return [OutgoingMessage(value=value, key=key)]
    half = len(events) // 2
    return [
        *_collected_messages(key, events[:half], produced_at),
        *_collected_messages(key, events[half:], produced_at),
    ]


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "<root>", "message": err["msg"]}
        for err in exc.errors()
    ]
