"""Every answer with an entry id is a row of the ledger, written once and never overwritten:
refusals taken at the gate are recorded by entry id, hold no seat and claim no key; a `reserved`
entry id always ends decided under its own id (SQLite and Postgres)."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from analytics_index.sql import SqlAnalyticsIndex
from common_messaging import (
    ENTRIES_DECIDED,
    DeviceInfo,
    DeviceType,
    EntryDecided,
    EntryReason,
    EntryRequested,
    EntryStatus,
    decode,
)
from common_messaging.bus.sqlite_log import SqliteLogConsumer, SqliteLogPublisher
from core_service.consumer.writers import EntryBatchDecider
from datastore.schema import Entry
from entries_ledger.decider import EntryDecider
from entries_ledger.sql_ledger import ledger_scope
from servicekit.database import Database
from tests.support.entries import add_activity, confirmed_count, seed_shop


def _request(
    shop_site: uuid.UUID,
    campaign: uuid.UUID,
    activity: uuid.UUID,
    user: str,
    key: str,
    refused: EntryReason | None = None,
) -> EntryRequested:
    return EntryRequested(
        entry_id=uuid.uuid4(),
        site_id=shop_site,
        campaign_id=campaign,
        activity_id=activity,
        user_id=user,
        idempotency_key=key,
        requested_at=datetime.now(UTC),
        device=DeviceInfo(device_type=DeviceType.DESKTOP),
        refused=refused,
        detail="opens later" if refused is EntryReason.NOT_STARTED else None,
    )


def _rows(db: Database, activity: uuid.UUID) -> dict[uuid.UUID, tuple[str, str | None]]:
    with db.reader() as s:
        rows = s.execute(
            select(Entry.id, Entry.status, Entry.reason).where(Entry.activity_id == activity)
        ).all()
    return {i: (status, reason) for i, status, reason in rows}


def test_refusals_are_recorded_once_and_never_overwritten(database: Database) -> None:
    shop = seed_shop(database)
    activity = add_activity(database, shop.campaign_id, capacity=1)
    decider = EntryDecider(ledger_scope(database), lambda: datetime.now(UTC))
    refused = _request(shop.site_id, shop.campaign_id, activity, "ann", "k", EntryReason.SOLD_OUT)
    early = _request(shop.site_id, shop.campaign_id, activity, "ann", "k", EntryReason.NOT_STARTED)

    first = decider.refuse([refused, early])
    assert decider.refuse([refused]) == first[:1]  # a replay: the same decision, no new row
    assert first[1].detail == "opens later"
    # The refused entry id is never decided again, however often it comes back as a request.
    again = decider.decide(refused.model_copy(update={"refused": None}))
    assert (again.entry_id, again.status, again.reason) == (
        refused.entry_id,
        EntryStatus.REJECTED,
        EntryReason.SOLD_OUT,
    )
    # Refusals hold no seat and claim no key: the same user and key still win the seat.
    won = decider.decide(_request(shop.site_id, shop.campaign_id, activity, "ann", "k"))
    assert won.status is EntryStatus.CONFIRMED
    assert confirmed_count(database, activity) == 1
    assert _rows(database, activity) == {
        refused.entry_id: ("rejected", "sold_out"),
        early.entry_id: ("rejected", "not_started"),
        won.entry_id: ("confirmed", None),
    }
    # A refusal recorded later under a confirmed entry's id leaves the confirmation alone.
    late = _request(shop.site_id, shop.campaign_id, activity, "ann", "k", EntryReason.SOLD_OUT)
    decider.refuse([late.model_copy(update={"entry_id": won.entry_id})])
    assert _rows(database, activity)[won.entry_id] == ("confirmed", None)


def test_the_consumer_records_every_answer_under_its_own_entry_id(
    database: Database, tmp_path: Path
) -> None:
    shop = seed_shop(database)
    activity = add_activity(database, shop.campaign_id, capacity=5, per_user_limit=2)
    log = tmp_path / "bus.sqlite3"
    publisher = SqliteLogPublisher(log)
    batch = EntryBatchDecider(database, SqlAnalyticsIndex(database), publisher)
    won = _request(shop.site_id, shop.campaign_id, activity, "bo", "same-key")
    # The same key reserved again under another id (Redis lost the key): that id must end too.
    twin = _request(shop.site_id, shop.campaign_id, activity, "bo", "same-key")
    refused = _request(
        shop.site_id, shop.campaign_id, activity, "cy", "k", EntryReason.NOT_ELIGIBLE
    )

    batch([won, refused])
    batch([twin, refused])  # the refusal replayed with the twin

    rows = _rows(database, activity)
    assert rows == {
        won.entry_id: ("confirmed", None),
        twin.entry_id: ("rejected", "already_entered"),
        refused.entry_id: ("rejected", "not_eligible"),
    }
    assert confirmed_count(database, activity) == 1  # the twin took no second seat
    announced = [
        decode(m.value, EntryDecided).payload
        for m in SqliteLogConsumer(log, "reader", [ENTRIES_DECIDED]).poll(10, 0.05)
    ]
    assert [(d.entry_id, d.status) for d in announced] == [
        (won.entry_id, EntryStatus.CONFIRMED),
        (refused.entry_id, EntryStatus.REJECTED),
        (twin.entry_id, EntryStatus.REJECTED),
        (refused.entry_id, EntryStatus.REJECTED),
    ]
    assert str(won.entry_id) in (announced[2].detail or "")
    publisher.close()
