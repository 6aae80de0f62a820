"""The webhook outbox on Postgres and SQLite: events are written in the caller's transaction,
once per (event type, event id), and every final entry decision becomes `entry.decided`."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from common_messaging import EntryReason
from datastore.schema import WebhookEvent
from entries_ledger.decider import EntryDecider
from entries_ledger.sql_ledger import ledger_scope
from servicekit.database import Database
from shop_webhooks import ENTRY_DECIDED, REWARD_ISSUED, enqueue_webhook_event, message_id
from tests.support.entries import Shop, add_activity, reservation, seed_shop

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def shop(database: Database) -> Shop:
    return seed_shop(database)


def _events(database: Database) -> list[WebhookEvent]:
    with database.reader() as s:
        return list(s.scalars(select(WebhookEvent).order_by(WebhookEvent.created_at)))


def test_enqueue_is_idempotent_by_event_type_and_id(database: Database, shop: Shop) -> None:
    fact = uuid.uuid4()
    for amount in ("10.00", "99.00"):  # the second call must change nothing
        with database.unit_of_work() as s:
            enqueue_webhook_event(
                s.connection(),
                site_id=shop.site_id,
                event_type=REWARD_ISSUED,
                event_id=fact,
                payload={"entry_id": fact, "amount": amount, "at": NOW},
                occurred_at=NOW,
            )
    [event] = _events(database)
    assert event.id == message_id(REWARD_ISSUED, str(fact))
    assert event.payload == {"entry_id": str(fact), "amount": "10.00", "at": "2026-12-02T01:00:00Z"}
    assert event.event_id == str(fact) and event.fanned_out_at is None


def test_enqueue_rolls_back_with_the_fact(database: Database, shop: Shop) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as s:
        enqueue_webhook_event(
            s.connection(),
            site_id=shop.site_id,
            event_type=REWARD_ISSUED,
            event_id="r-1",
            payload={},
            occurred_at=NOW,
        )
        raise RuntimeError("the fact's transaction failed")
    assert _events(database) == []


def test_enqueue_refuses_unknown_types_and_naive_times(database: Database, shop: Shop) -> None:
    with database.unit_of_work() as s:
        with pytest.raises(ValueError, match="unknown webhook event type"):
            enqueue_webhook_event(
                s.connection(),
                site_id=shop.site_id,
                event_type="entry.won",
                event_id="x",
                payload={},
                occurred_at=NOW,
            )
        with pytest.raises(ValueError, match="timezone-aware"):
            enqueue_webhook_event(
                s.connection(),
                site_id=shop.site_id,
                event_type=ENTRY_DECIDED,
                event_id="x",
                payload={},
                occurred_at=NOW.replace(tzinfo=None),
            )


def test_every_final_decision_is_an_entry_decided_event(database: Database, shop: Shop) -> None:
    activity = add_activity(database, shop.campaign_id, capacity=1)
    decider = EntryDecider(ledger_scope(database), lambda: NOW)
    won = decider.decide(reservation(shop, activity, "user-1"))
    sold_out = decider.decide(reservation(shop, activity, "user-2"))
    gate = reservation(shop, activity, "user-3").model_copy(
        update={"refused": EntryReason.NOT_ELIGIBLE}
    )
    decider.refuse([gate])
    decider.refuse([gate])  # a replayed refusal
    decider.decide(
        reservation(shop, activity, "user-1").model_copy(update={"entry_id": won.entry_id})
    )
    events = {e.event_id: e for e in _events(database)}
    assert set(events) == {str(won.entry_id), str(sold_out.entry_id), str(gate.entry_id)}
    assert {e.event_type for e in events.values()} == {ENTRY_DECIDED}
    assert events[str(won.entry_id)].payload["status"] == "confirmed"
    assert events[str(won.entry_id)].payload["position"] == 1
    assert events[str(sold_out.entry_id)].payload["reason"] == "sold_out"
    assert events[str(gate.entry_id)].payload["reason"] == "not_eligible"
    assert all(e.site_id == shop.site_id for e in events.values())
