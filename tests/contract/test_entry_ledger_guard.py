"""The entries ledger on its own, with no gate in front: Postgres (and SQLite, the embedded
default) is the last line of defence, so it must hold when whatever admitted the reservations
admitted too many.

Each test hands the decider more reservations than the activity can take, as a Redis that
lost its counters (or a bug in the admit script) would; the capacity guard (the conditional
update of `confirmed_count`) and the unique (activity, user, slot) constraint must confirm
exactly what the terms allow and reject the rest with the right reason. The concurrent tests
race real transactions on Postgres, where READ COMMITTED and row locks decide who wins.
"""

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from common_messaging import EntryDecided, EntryReason, EntryRequested, EntryStatus
from datastore.engine import make_engine
from datastore.schema import Activity, User, UserSummary
from entries_ledger.decider import EntryDecider
from entries_ledger.sql_ledger import ledger_scope
from migrations.runner import upgrade
from servicekit.database import Database
from tests.engines import scratch_postgres_database
from tests.support.entries import (
    Shop,
    add_activity,
    confirmed,
    confirmed_count,
    entry_rows,
    reservation,
    seed_shop,
)


@pytest.fixture
def shop(database: Database) -> Shop:
    return seed_shop(database)


def _decider(database: Database) -> EntryDecider:
    return EntryDecider(ledger_scope(database), lambda: datetime.now(UTC))


def _outcome(decision: EntryDecided) -> str:
    return decision.status.value if decision.reason is None else decision.reason.value


def test_more_reservations_than_capacity_confirm_exactly_capacity(
    database: Database, shop: Shop
) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=3)
    decider = _decider(database)
    decisions = [decider.decide(reservation(shop, activity, f"user-{i}")) for i in range(6)]
    assert [_outcome(d) for d in decisions] == ["confirmed"] * 3 + ["sold_out"] * 3
    assert [d.position for d in decisions] == [1, 2, 3, None, None, None]
    assert confirmed_count(database, activity) == 3
    assert sorted(confirmed(database, activity)) == [(f"user-{i}", i + 1) for i in range(3)]
    assert entry_rows(database, activity) == 6  # every refusal is recorded too


def test_a_full_activity_stays_full_for_later_reservations(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=1)
    decider = _decider(database)
    assert _outcome(decider.decide(reservation(shop, activity, "first"))) == "confirmed"
    for i in range(3):
        assert _outcome(decider.decide(reservation(shop, activity, f"late-{i}"))) == "sold_out"
    assert confirmed_count(database, activity) == 1


def test_no_capacity_means_no_limit(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=None)
    decider = _decider(database)
    positions = [decider.decide(reservation(shop, activity, f"u{i}")).position for i in range(4)]
    assert positions == [1, 2, 3, 4]


def test_per_user_limit_is_enforced_by_the_ledger(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=10, per_user_limit=2)
    decider = _decider(database)
    outcomes = [_outcome(decider.decide(reservation(shop, activity, "greedy"))) for _ in range(4)]
    assert outcomes == ["confirmed", "confirmed", "already_entered", "already_entered"]
    assert confirmed_count(database, activity) == 2
    # The refusals did not use up capacity: someone else still gets in at position 3.
    assert decider.decide(reservation(shop, activity, "other")).position == 3


def test_a_replayed_reservation_gets_its_first_decision(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=1)
    decider = _decider(database)
    first = reservation(shop, activity, "ada", key="k-1")
    won = decider.decide(first)
    # The same entry id again, and a new entry id with the same (user, key): both answer `won`.
    again = decider.decide(first)
    same_key = decider.decide(reservation(shop, activity, "ada", key="k-1"))
    assert won.status is EntryStatus.CONFIRMED and won.position == 1
    assert again == won and same_key.entry_id == won.entry_id
    assert (confirmed_count(database, activity), entry_rows(database, activity)) == (1, 1)


def test_a_replayed_refusal_keeps_its_reason(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=1)
    decider = _decider(database)
    decider.decide(reservation(shop, activity, "first"))
    late = reservation(shop, activity, "late")
    refused = decider.decide(late)
    assert decider.decide(late) == refused
    assert (refused.reason, refused.position) == (EntryReason.SOLD_OUT, None)
    found = ledger_scope(database)
    with found() as ledger:
        assert ledger.find(late.entry_id) == refused
        assert ledger.find(uuid.uuid4()) is None


def test_a_replayed_entry_id_answers_with_its_own_row(database: Database, shop: Shop) -> None:
    # Entry 2 comes back carrying entry 1's key: both rows match; entry 2's own row wins.
    activity = add_activity(database, shop.campaign_id, capacity=5, per_user_limit=2)
    decider = _decider(database)
    first = decider.decide(reservation(shop, activity, "ada", key="k-1"))
    second_request = reservation(shop, activity, "ada", key="k-2")
    second = decider.decide(second_request)
    replay = second_request.model_copy(update={"idempotency_key": "k-1"})
    assert decider.decide(replay) == second != first


def test_only_confirmed_entries_of_this_activity_count_against_the_user(
    database: Database, shop: Shop
) -> None:
    elsewhere = add_activity(database, shop.campaign_id, capacity=5)
    activity = add_activity(database, shop.campaign_id, capacity=1)
    decider = _decider(database)
    assert _outcome(decider.decide(reservation(shop, elsewhere, "ada"))) == "confirmed"
    assert _outcome(decider.decide(reservation(shop, activity, "bob"))) == "confirmed"
    assert _outcome(decider.decide(reservation(shop, activity, "ada"))) == "sold_out"
    with database.unit_of_work() as s:  # the activity grows: ada's refusal must not count
        s.execute(update(Activity).where(Activity.id == activity).values(capacity=2))
    assert _outcome(decider.decide(reservation(shop, activity, "ada"))) == "confirmed"
    # Each claim raised its own activity's count only.
    assert (confirmed_count(database, elsewhere), confirmed_count(database, activity)) == (1, 2)


def test_confirmed_entries_count_in_the_users_summary(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=2, per_user_limit=2)
    times = iter(datetime(2026, 11, 23, 10, m, tzinfo=UTC) for m in range(10))
    decider = EntryDecider(ledger_scope(database), lambda: next(times))
    outcomes = [_outcome(decider.decide(reservation(shop, activity, "ada"))) for _ in range(2)]
    assert outcomes == ["confirmed", "confirmed"]
    assert _outcome(decider.decide(reservation(shop, activity, "bob"))) == "sold_out"
    with database.reader() as s:
        rows = s.execute(
            select(User.external_id, User.user_key, UserSummary).join(
                UserSummary, UserSummary.user_id == User.id
            )
        ).all()
    assert [(external, key) for external, key, _ in rows] == [("ada", "u:ada")]  # bob lost
    summary = rows[0][2]
    assert (summary.entry_count, summary.last_entry_at) == (
        2,
        datetime(2026, 11, 23, 10, 1, tzinfo=UTC),
    )
    assert (summary.event_count, summary.purchase_count, summary.total_spent) == (0, 0, 0)


@pytest.fixture
def postgres() -> Iterator[Database]:
    with scratch_postgres_database() as url:
        upgrade(url)
        database = Database(make_engine(url))
        try:
            yield database
        finally:
            database.dispose()


def _race(database: Database, requests: list[EntryRequested]) -> list[EntryDecided]:
    """Decide every request at once, each on its own connection, released by one barrier."""
    start = threading.Barrier(len(requests), timeout=10)

    def decide(request: EntryRequested) -> EntryDecided:
        decider = _decider(database)
        start.wait()
        return decider.decide(request)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(decide, requests))


def _sorted_outcomes(decisions: list[EntryDecided]) -> list[str]:
    return sorted(_outcome(d) for d in decisions)


@pytest.mark.integration
@pytest.mark.parametrize("attempt", range(3))
def test_one_user_racing_for_their_last_slot_wins_it_once(postgres: Database, attempt: int) -> None:
    shop = seed_shop(postgres)
    activity = add_activity(postgres, shop.campaign_id, capacity=5, per_user_limit=1)
    requests = [reservation(shop, activity, "racer") for _ in range(8)]
    decisions = _race(postgres, requests)
    assert _sorted_outcomes(decisions) == ["already_entered"] * 7 + ["confirmed"]
    # The losers' capacity claims were rolled back with their failed insert.
    assert confirmed_count(postgres, activity) == 1
    assert confirmed(postgres, activity) == [("racer", 1)]


@pytest.mark.integration
def test_many_users_racing_for_the_last_places_never_overbook(postgres: Database) -> None:
    shop = seed_shop(postgres)
    activity = add_activity(postgres, shop.campaign_id, capacity=3)
    decisions = _race(postgres, [reservation(shop, activity, f"u{i}") for i in range(12)])
    assert _sorted_outcomes(decisions) == ["confirmed"] * 3 + ["sold_out"] * 9
    assert sorted(d.position for d in decisions if d.position) == [1, 2, 3]
    assert confirmed_count(postgres, activity) == 3
    assert len(confirmed(postgres, activity)) == 3


@pytest.mark.integration
def test_a_user_racing_others_for_the_last_place(postgres: Database) -> None:
    # Two of one user's reservations and two strangers' race for 2 places, limit 1 per user.
    shop = seed_shop(postgres)
    activity = add_activity(postgres, shop.campaign_id, capacity=2, per_user_limit=1)
    users = ["twin", "twin", f"s-{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:6]}"]
    decisions = _race(postgres, [reservation(shop, activity, u) for u in users])
    winners = [d.user_id for d in decisions if d.status is EntryStatus.CONFIRMED]
    assert len(winners) == 2 and len(set(winners)) == 2
    assert confirmed_count(postgres, activity) == 2
    refused = {d.reason for d in decisions if d.status is EntryStatus.REJECTED}
    assert refused <= {EntryReason.SOLD_OUT, EntryReason.ALREADY_ENTERED}
