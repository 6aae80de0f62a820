"""Deciding a reservation: Postgres (the ledger) is the only place an entry is won.

`EntryDecider.decide` runs one unit of work per reservation: an idempotent look-up, the per-user
limit, then the capacity guard (a conditional update of the activity's confirmed count) and the
insert whose unique (activity, user, slot) constraint backs the per-user limit. When two
transactions race for one user's last slot, the loser's insert fails; the whole unit of work is
retried once and then sees the winner's row. Whatever Redis admitted, confirmed entries never
exceed capacity, and a reservation Postgres cannot confirm ends rejected.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from common_messaging import (
    EntryDecided,
    EntryReason,
    EntryRequested,
    EntryStatus,
    EventOccurred,
    EventType,
)
from common_messaging.visitors import user_key
from entries_ledger.reward_terms import RewardTerms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ActivityTerms:
    capacity: int | None
    per_user_limit: int
    user_confirmed: int  # the asking user's confirmed entries in this activity so far
    reward: RewardTerms | None = None  # what a win is given (a code, a product hold)


class SlotTaken(Exception):
    """A concurrent transaction took this user's slot first; retry the unit of work."""


class EntryLedger(Protocol):
    """The entries table and the activity's capacity guard, inside one unit of work."""

    def find(self, entry_id: UUID) -> EntryDecided | None: ...

    def find_request(self, request: EntryRequested) -> EntryDecided | None:
        """The decision recorded for this entry id, or for its (activity, user, key)."""
        ...

    def terms(self, activity_id: UUID, user_id: str) -> ActivityTerms | None: ...

    def claim_capacity(self, activity_id: UUID) -> int | None:
        """Raise the confirmed count if it is below capacity; the new count, or None if full."""
        ...

    def record(
        self, request: EntryRequested, decision: EntryDecided, user_slot: int | None
    ) -> None:
        """Insert the decision; raises SlotTaken when (activity, user, slot) is already taken."""
        ...

    def count_entry_in_summary(self, request: EntryRequested, at: datetime) -> None: ...

    def issue_reward(
        self, request: EntryRequested, decision: EntryDecided, reward: RewardTerms
    ) -> None:
        """Give a confirmed entry its reward (a pool's code, a product hold), in this unit."""
        ...

    def record_refusals(self, decisions: Sequence[tuple[EntryRequested, EntryDecided]]) -> None:
        """Store refusals taken before the ledger; an entry id already stored is left as it is."""
        ...


LedgerScope = Callable[[], AbstractContextManager[EntryLedger]]


class AfterDecision(Protocol):
    def __call__(self, decisions: Sequence[tuple[EntryRequested, EntryDecided]]) -> None: ...


class EntryDecider:
    def __init__(self, ledger: LedgerScope, clock: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._clock = clock

    def refuse(self, requests: Sequence[EntryRequested]) -> list[EntryDecided]:
        """Record refusals decided at the gate (`request.refused`), idempotently by entry id.

        Never overwrites: an entry id already in the ledger keeps its row, and a refused entry
        id is never decided again (`decide` answers from its row).
        """
        decided = [(request, refusal(request)) for request in requests]
        if decided:
            with self._ledger() as ledger:
                ledger.record_refusals(decided)
        return [decision for _, decision in decided]

    def decide_answered(self, request: EntryRequested) -> EntryDecided:
        """Decide a reservation whose entry id a shopper already holds (`reserved`): the
        decision is always about this entry id. When the attempt's Idempotency-Key already won
        under another entry id, this one ends rejected (`already_entered`), naming the winner."""
        decision = self.decide(request)
        if decision.entry_id == request.entry_id:
            return decision
        detail = f"this Idempotency-Key already won entry {decision.entry_id}"
        return self.refuse(
            [request.model_copy(update={"refused": EntryReason.ALREADY_ENTERED, "detail": detail})]
        )[0]

    def decide(self, request: EntryRequested) -> EntryDecided:
        """The ledger's decision for this attempt; for an Idempotency-Key that already won, the
        winning entry's decision (its own entry id)."""
        try:
            return self._decide_once(request)
        except SlotTaken:
            log.info("entry_slot_race activity_id=%s", request.activity_id)
            return self._decide_once(request)

    def _decide_once(self, request: EntryRequested) -> EntryDecided:
        with self._ledger() as ledger:
            known = ledger.find_request(request)
            if known is not None:
                return known
            terms = ledger.terms(request.activity_id, request.user_id)
            now = self._clock()
            if terms is None:  # deleted since the gate admitted it; nothing to win
                return self._reject(ledger, request, EntryReason.ENDED, now)
            slot = terms.user_confirmed + 1
            if slot > terms.per_user_limit:
                return self._reject(ledger, request, EntryReason.ALREADY_ENTERED, now)
            position = ledger.claim_capacity(request.activity_id)
            if position is None:
                return self._reject(ledger, request, EntryReason.SOLD_OUT, now)
            decision = _decision(request, EntryStatus.CONFIRMED, None, position, now)
            ledger.record(request, decision, slot)
            ledger.count_entry_in_summary(request, now)
            if terms.reward is not None:
                ledger.issue_reward(request, decision, terms.reward)
            return decision

    @staticmethod
    def _reject(
        ledger: EntryLedger, request: EntryRequested, reason: EntryReason, now: datetime
    ) -> EntryDecided:
        decision = _decision(request, EntryStatus.REJECTED, reason, None, now)
        ledger.record(request, decision, None)
        return decision


def refusal(request: EntryRequested) -> EntryDecided:
    """The decision a gate-side refusal stands for; the same every time it is replayed."""
    if request.refused is None:
        raise ValueError(f"entry {request.entry_id} was not refused at the gate")
    return _decision(
        request, EntryStatus.REJECTED, request.refused, None, request.requested_at, request.detail
    )


def _decision(
    request: EntryRequested,
    status: EntryStatus,
    reason: EntryReason | None,
    position: int | None,
    now: datetime,
    detail: str | None = None,
) -> EntryDecided:
    return EntryDecided(
        entry_id=request.entry_id,
        site_id=request.site_id,
        campaign_id=request.campaign_id,
        activity_id=request.activity_id,
        user_id=request.user_id,
        status=status,
        reason=reason,
        position=position,
        decided_at=now,
        detail=detail,
    )


def entry_occurrence(request: EntryRequested, decision: EntryDecided) -> EventOccurred:
    """A confirmed entry as an analytics event (type `entry`), for the dashboards."""
    return EventOccurred(
        event_id=decision.entry_id,
        site_id=request.site_id,
        campaign_id=request.campaign_id,
        activity_id=request.activity_id,
        name="entry",
        type=EventType.ENTRY,
        occurred_at=decision.decided_at,
        received_at=decision.decided_at,
        anonymous_id=user_key(request.user_id),
        user_id=request.user_id,
        device=request.device,
        is_new_user=request.is_new_user,
        properties={"position": decision.position} if decision.position else {},
    )


def confirmed_occurrences(
    decisions: Sequence[tuple[EntryRequested, EntryDecided]],
) -> Iterator[EventOccurred]:
    for request, decision in decisions:
        if decision.status is EntryStatus.CONFIRMED:
            yield entry_occurrence(request, decision)
