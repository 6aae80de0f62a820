"""EntryDecider's rules over an in-memory ledger: the order of the checks, which reason each
refusal carries, what is recorded and counted, and the one retry after a lost slot race.

The SQL ledger's own guards (the conditional capacity update, the unique slot) are tested on
SQLite and Postgres in tests/contract/test_entry_ledger_guard.py; here the ledger is a fake so
each branch of the decider can be reached on purpose (a deleted activity, a race lost twice).
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from common_messaging import EntryDecided, EntryReason, EntryRequested, EntryStatus, EventType
from entries_ledger.decider import (
    ActivityTerms,
    EntryDecider,
    SlotTaken,
    confirmed_occurrences,
    entry_occurrence,
)
from tests.support.entries import Shop, reservation

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SHOP = Shop(uuid.uuid4(), "pk_test", "pk_demo", uuid.uuid4(), uuid.uuid4())
ACTIVITY = uuid.uuid4()


@dataclass
class FakeLedger:
    terms_of: ActivityTerms | None = field(default_factory=lambda: ActivityTerms(10, 1, 0))
    capacity_left: int = 10
    races_to_lose: int = 0
    recorded: list[tuple[EntryDecided, int | None]] = field(default_factory=list)
    summaries: list[tuple[str, datetime]] = field(default_factory=list)
    units: int = 0
    claims: int = 0

    def find(self, entry_id: uuid.UUID) -> EntryDecided | None:
        return next((d for d, _ in self.recorded if d.entry_id == entry_id), None)

    def find_request(self, request: EntryRequested) -> EntryDecided | None:
        return self.find(request.entry_id)

    def terms(self, activity_id: uuid.UUID, user_id: str) -> ActivityTerms | None:
        assert activity_id == ACTIVITY
        return self.terms_of

    def claim_capacity(self, activity_id: uuid.UUID) -> int | None:
        assert activity_id == ACTIVITY
        if self.capacity_left <= 0:
            return None
        self.capacity_left -= 1
        self.claims += 1
        return self.claims

    def record(
        self, request: EntryRequested, decision: EntryDecided, user_slot: int | None
    ) -> None:
        if self.races_to_lose:
            self.races_to_lose -= 1
            raise SlotTaken("duplicate key value violates unique constraint")
        self.recorded.append((decision, user_slot))

    def count_entry_in_summary(self, request: EntryRequested, at: datetime) -> None:
        self.summaries.append((request.user_id, at))

    @contextmanager
    def scope(self) -> Iterator["FakeLedger"]:
        self.units += 1
        yield self


def _decide(ledger: FakeLedger, user: str = "ada") -> tuple[EntryRequested, EntryDecided]:
    request = reservation(SHOP, ACTIVITY, user)
    return request, EntryDecider(ledger.scope, lambda: NOW).decide(request)


def test_a_confirmed_entry_is_recorded_with_its_slot_and_counted() -> None:
    ledger = FakeLedger(terms_of=ActivityTerms(10, 3, 1))
    request, decision = _decide(ledger)
    assert decision == EntryDecided(
        entry_id=request.entry_id,
        site_id=SHOP.site_id,
        campaign_id=SHOP.campaign_id,
        activity_id=ACTIVITY,
        user_id="ada",
        status=EntryStatus.CONFIRMED,
        reason=None,
        position=1,
        decided_at=NOW,
    )
    assert ledger.recorded == [(decision, 2)]  # the user's second slot: one was confirmed
    assert ledger.summaries == [("ada", NOW)]


def test_a_deleted_activity_ends_the_reservation_without_a_claim() -> None:
    ledger = FakeLedger(terms_of=None)
    _, decision = _decide(ledger)
    assert (decision.status, decision.reason, decision.position) == (
        EntryStatus.REJECTED,
        EntryReason.ENDED,
        None,
    )
    assert decision.decided_at == NOW
    assert ledger.recorded == [(decision, None)] and ledger.claims == 0
    assert ledger.summaries == []


@pytest.mark.parametrize(
    ("limit", "confirmed", "outcome"), [(1, 0, None), (1, 1, "x"), (2, 1, None), (2, 2, "x")]
)
def test_the_per_user_limit_is_checked_before_capacity(
    limit: int, confirmed: int, outcome: str | None
) -> None:
    ledger = FakeLedger(terms_of=ActivityTerms(10, limit, confirmed))
    _, decision = _decide(ledger)
    if outcome is None:
        assert decision.status is EntryStatus.CONFIRMED
        assert ledger.recorded[0][1] == confirmed + 1
    else:
        assert decision.reason is EntryReason.ALREADY_ENTERED and ledger.claims == 0
        assert ledger.recorded == [(decision, None)] and ledger.summaries == []


def test_no_capacity_left_is_sold_out_and_not_counted() -> None:
    ledger = FakeLedger(capacity_left=0)
    _, decision = _decide(ledger)
    assert (decision.status, decision.reason) == (EntryStatus.REJECTED, EntryReason.SOLD_OUT)
    assert ledger.recorded == [(decision, None)] and ledger.summaries == []


def test_a_known_request_is_answered_from_the_ledger() -> None:
    ledger = FakeLedger()
    request, first = _decide(ledger)
    again = EntryDecider(ledger.scope, lambda: NOW).decide(request)
    assert again == first and len(ledger.recorded) == 1 and ledger.claims == 1


def test_a_lost_slot_race_is_retried_once_in_a_new_unit_of_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = FakeLedger(races_to_lose=1)
    with caplog.at_level(logging.INFO, "entries_ledger.decider"):
        _, decision = _decide(ledger)
    assert decision.status is EntryStatus.CONFIRMED and ledger.units == 2
    assert [r.getMessage() for r in caplog.records] == [f"entry_slot_race activity_id={ACTIVITY}"]


def test_a_race_lost_twice_is_an_error_not_a_third_try() -> None:
    ledger = FakeLedger(races_to_lose=2)
    with pytest.raises(SlotTaken):
        _decide(ledger)
    assert ledger.units == 2 and ledger.recorded == []


def test_a_confirmed_entry_becomes_an_entry_event() -> None:
    ledger = FakeLedger()
    request, decision = _decide(ledger)
    event = entry_occurrence(request, decision)
    assert event.model_dump() == {
        **event.model_dump(),  # the fields an entry leaves at their defaults
        "event_id": decision.entry_id,
        "site_id": SHOP.site_id,
        "campaign_id": SHOP.campaign_id,
        "activity_id": ACTIVITY,
        "name": "entry",
        "type": EventType.ENTRY,
        "occurred_at": NOW,
        "received_at": NOW,
        "anonymous_id": "u:ada",
        "user_id": "ada",
        "device": request.device.model_dump(),
        "is_new_user": False,
        "properties": {"position": 1},
    }
    refused = decision.model_copy(update={"status": EntryStatus.REJECTED, "position": None})
    assert entry_occurrence(request, refused).properties == {}
    assert list(confirmed_occurrences([(request, decision), (request, refused)])) == [event]
