"""Entering a campaign activity: who, when, whether eligible, then one step through the gate.

Order matters for cost under a spike: the in-process refusals (unknown activity - the
definition is cached in process -, bad token, outside the window) come first, then the user
summary read (only for activities with conditions, from the summary cache), then ONE gate
call that counts the rate limits and records the decision: the Redis gate does all of it in one
script call (`RedisEntryGate.enter`), other gates in steps (`decide_in_steps`).
Every answer that carries an entry id is a durable record before it is given: refusals
decided here (window, eligibility) go through the gate's `refuse` like its own, so
`GET /v1/entries/{id}` resolves every entry id a shopper was ever given. Refusals without an
entry id (4xx: bad token, rate limited, unknown activity) are not entries.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from uuid import UUID

from common_messaging import DeviceInfo, EntryReason, EntryRequested, EntryStatus
from common_messaging.conditions import Rule, evaluate
from common_messaging.visitors import user_key
from entry_service import metrics
from entry_service.domain.tokens import InvalidToken, Shopper, verify_user_token
from entry_service.errors import (
    ActivityNotFound,
    EntryNotFound,
    OriginNotAllowed,
    RateLimited,
    SiteInactive,
    UserTokenInvalid,
)

if TYPE_CHECKING:
    from entry_service.domain.winner_rewards import RewardReader


@dataclass(frozen=True, slots=True)
class ActivityView:
    """An activity with what the entry path needs of its campaign and site."""

    id: UUID
    campaign_id: UUID
    site_id: UUID
    site_key: str
    site_active: bool
    site_demo: bool
    signing_secret: str
    allowed_origins: tuple[str, ...]
    active: bool
    capacity: int | None
    per_user_limit: int
    starts_at: datetime | None  # the later of the activity's and the campaign's start
    ends_at: datetime | None  # the earlier of the two ends
    conditions: Rule | None

    def allows_origin(self, origin: str | None) -> bool:
        if origin is None:  # the site's own backend calling server-to-server
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins


@dataclass(frozen=True, slots=True)
class EntryAnswer:
    entry_id: UUID
    status: EntryStatus
    reason: EntryReason | None = None
    position: int | None = None
    detail: str | None = None
    activity_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class EntryCommand:
    activity_id: UUID
    idempotency_key: str
    user_token: str | None
    user_id: str | None
    site_key: str | None
    origin: str | None
    client_ip: str
    device: DeviceInfo
    now: datetime
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RateCheck:
    """The fixed-window limits one request counts against: (key, limit) pairs."""

    limits: tuple[tuple[str, int], ...]
    window_s: int


@dataclass(frozen=True, slots=True)
class Throttled:
    """The gate's answer when a rate limit is over: no entry, a 429."""

    retry_after_s: float
    keys: int


@dataclass(frozen=True, slots=True)
class RateLimits:
    per_user: int
    per_ip: int
    window_s: int


class ActivityDirectory(Protocol):
    async def get(self, activity_id: UUID) -> ActivityView | None: ...


class FactsSource(Protocol):
    async def facts(self, site_id: UUID, user_key: str) -> Mapping[str, Any]:
        """The user summary's fields (empty for a user never seen)."""
        ...


class RateLimiter(Protocol):
    async def hit(self, limits: Sequence[tuple[str, int]], window_s: int) -> float | None:
        """Count one request against each (key, limit) at once (one round trip).

        Returns the seconds until the window resets when any key is over its limit, else None.
        """
        ...


class EntryGate(Protocol):
    async def admit(self, request: EntryRequested, activity: ActivityView) -> EntryAnswer:
        """Admit or refuse atomically (capacity, per-user limit, idempotency key)."""
        ...

    async def refuse(self, request: EntryRequested) -> EntryAnswer:
        """Record a refusal (`request.refused`, `request.detail`) durably, then answer it."""
        ...

    async def enter(
        self, request: EntryRequested, activity: ActivityView, check: RateCheck
    ) -> EntryAnswer | Throttled:
        """The request's whole decision: count it against `check` (Throttled when over, and
        nothing recorded), then record `request.refused` when set, else admit."""
        ...

    async def lookup(self, entry_id: UUID) -> EntryAnswer | None:
        """The latest known state of any entry this gate answered; None only for ids never
        answered."""
        ...


@dataclass(frozen=True, slots=True)
class EntryPorts:
    activities: ActivityDirectory
    facts: FactsSource
    limiter: RateLimiter
    gate: EntryGate
    limits: RateLimits
    rewards: "RewardReader | None" = None  # winners' codes and holds (GET /v1/entries/{id})


async def enter(cmd: EntryCommand, ports: EntryPorts) -> EntryAnswer:
    activity = await ports.activities.get(cmd.activity_id)
    if activity is None or (cmd.site_key is not None and cmd.site_key != activity.site_key):
        raise ActivityNotFound(
            f"no activity {cmd.activity_id} is open for entries",
            details={"activity_id": str(cmd.activity_id)},
        )
    if not activity.site_active:
        raise SiteInactive("this site is not active")
    if not activity.allows_origin(cmd.origin):
        raise OriginNotAllowed(f"origin {cmd.origin} is not allowed for this site")
    by_ip = (f"ip:{cmd.client_ip}", ports.limits.per_ip)
    try:
        shopper = _identify(cmd, activity)
    except UserTokenInvalid:  # forged or stale tokens still count against their address
        await _limit(ports, [by_ip])
        raise
    request = EntryRequested(
        entry_id=uuid.uuid4(),
        site_id=activity.site_id,
        campaign_id=activity.campaign_id,
        activity_id=activity.id,
        user_id=shopper.user_id,
        idempotency_key=cmd.idempotency_key,
        requested_at=cmd.now,
        device=cmd.device,
        properties=dict(cmd.properties),
    )
    refusal = _outside_window(activity, cmd.now) or await _ineligible(ports, activity, shopper, cmd)
    if refusal is not None:
        reason, detail = refusal
        request = request.model_copy(update={"refused": reason, "detail": detail[:500]})
    by_user = (f"user:{activity.site_id}:{shopper.user_id}", ports.limits.per_user)
    check = RateCheck((by_ip, by_user), ports.limits.window_s)
    answer = await ports.gate.enter(request, activity, check)
    if isinstance(answer, Throttled):
        _throttled(answer)
    return answer


async def decide_in_steps(
    limiter: RateLimiter,
    gate: EntryGate,
    request: EntryRequested,
    activity: ActivityView,
    check: RateCheck,
) -> EntryAnswer | Throttled:
    """`EntryGate.enter` for a gate that cannot count the limits in its own step: the limiter
    first (one round trip), then the gate's `refuse` or `admit`."""
    retry_after = await limiter.hit(check.limits, check.window_s)
    if retry_after is not None:
        return Throttled(retry_after, len(check.limits))
    if request.refused is not None:
        return await gate.refuse(request)
    return await gate.admit(request, activity)


async def entry_state(entry_id: UUID, gate: EntryGate) -> EntryAnswer:
    answer = await gate.lookup(entry_id)
    if answer is None:
        raise EntryNotFound(
            f"no entry {entry_id} was ever answered",
            details={"entry_id": str(entry_id)},
        )
    return answer


async def _limit(ports: EntryPorts, limits: Sequence[tuple[str, int]]) -> None:
    retry_after = await ports.limiter.hit(limits, ports.limits.window_s)
    if retry_after is not None:
        _throttled(Throttled(retry_after, len(limits)))


def _throttled(throttled: Throttled) -> NoReturn:
    metrics.rate_limited(throttled.keys)
    raise RateLimited(
        "too many entry attempts; retry later",
        headers={"Retry-After": str(max(1, round(throttled.retry_after_s)))},
    )


def _identify(cmd: EntryCommand, activity: ActivityView) -> Shopper:
    if cmd.user_token:
        try:
            return verify_user_token(cmd.user_token, activity.signing_secret, cmd.now)
        except InvalidToken as exc:
            raise UserTokenInvalid(str(exc)) from exc
    if cmd.user_id and activity.site_demo:
        return Shopper(cmd.user_id)
    raise UserTokenInvalid(
        "send `user_token`: a JWT (HS256) with `sub` = user id and `exp`, signed by your "
        "backend with the site's signing secret (plain `user_id` only on demo sites)"
    )


def _outside_window(activity: ActivityView, now: datetime) -> tuple[EntryReason, str] | None:
    if activity.starts_at is not None and now < activity.starts_at:
        return EntryReason.NOT_STARTED, f"opens at {activity.starts_at.isoformat()}"
    if activity.ends_at is not None and now >= activity.ends_at:
        return EntryReason.ENDED, f"closed at {activity.ends_at.isoformat()}"
    if not activity.active:
        return EntryReason.ENDED, "the activity is closed"
    return None


async def _ineligible(
    ports: EntryPorts, activity: ActivityView, shopper: Shopper, cmd: EntryCommand
) -> tuple[EntryReason, str] | None:
    if activity.conditions is None:
        return None
    facts = dict(await ports.facts.facts(activity.site_id, user_key(shopper.user_id)))
    facts["traits"] = shopper.traits
    verdict = evaluate(activity.conditions, facts, cmd.now)
    if verdict.eligible:
        return None
    return EntryReason.NOT_ELIGIBLE, verdict.failed or "the activity's conditions"
