"""Enrichment in the store path, on both stacks (SQLite and Postgres): the device from the user
agent, and new vs returning decided once per visitor's first sighting on the site, with the
same answers on a replay; `StoreResult.inserted` holds the rows this batch actually inserted."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy import select, update

from analytics_index.user_agent import parse_user_agent
from common_messaging import DeviceType, EventOccurred
from core_service.adapters.occurrence_repository import SqlOccurrenceRepository
from core_service.domain.enrichment import Enricher
from core_service.domain.occurrences import EventOccurrenceService, StoreResult
from datastore.schema import EventOccurrence, Visitor
from servicekit.database import Database
from tests.support.factories import NOW, occurrence, seed_site

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SERVICE = EventOccurrenceService(enricher=Enricher(parse_user_agent, timedelta(minutes=30)))


def _collected(site_id: UUID, visitor: str, after: timedelta, agent: str | None) -> EventOccurred:
    return occurrence(
        site_id=site_id,
        anonymous_id=visitor,
        received_at=NOW + after,
        occurred_at=NOW + after,
        user_agent=agent,
        enriched=False,
    )


def _store(database: Database, events: list[EventOccurred]) -> StoreResult:
    with database.unit_of_work() as session:
        return SERVICE.store(events, SqlOccurrenceRepository(session))


def _stored(database: Database) -> dict[UUID, tuple[str, str | None, bool]]:
    with database.reader() as session:
        rows = session.execute(
            select(
                EventOccurrence.event_id,
                EventOccurrence.device_type,
                EventOccurrence.browser,
                EventOccurrence.is_new_user,
            )
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_device_and_new_vs_returning_are_decided_in_the_store_path(database: Database) -> None:
    with database.unit_of_work() as session:
        site_id = seed_site(session).id
    first = _collected(site_id, "ann", timedelta(0), IPHONE)
    again = _collected(site_id, "ann", timedelta(minutes=5), IPHONE)
    bot = _collected(site_id, "crawler", timedelta(minutes=1), GOOGLEBOT)
    result = _store(database, [first, again, bot, first])
    # The repeat of `first` in the batch is a duplicate: inserted once, enriched alike.
    assert [e.event_id for e in result.inserted] == [first.event_id, again.event_id, bot.event_id]
    assert (result.stored, result.duplicates) == (3, 1)
    assert result.events[0] == result.events[3] and all(e.enriched for e in result.events)
    stored = _stored(database)
    assert stored[first.event_id] == ("mobile", "Mobile Safari", True)
    assert stored[again.event_id] == ("mobile", "Mobile Safari", True)  # within 30 min
    assert stored[bot.event_id][0] == DeviceType.BOT.value

    later = _collected(site_id, "ann", timedelta(minutes=31), None)
    replay = _store(database, [later, first])
    assert replay.inserted == [replay.events[0]] and replay.duplicates == 1
    # Past the window: returning. The replayed event keeps its first delivery's answers.
    assert not replay.events[0].is_new_user
    assert replay.events[0].device.device_type is DeviceType.OTHER  # no user agent at all
    assert replay.events[1].is_new_user and replay.events[1].device.browser == "Mobile Safari"
    assert _stored(database)[later.event_id] == ("other", None, False)


def test_first_sighting_is_the_earliest_receive_time_and_is_kept(database: Database) -> None:
    with database.unit_of_work() as session:
        site_id = seed_site(session).id
    late = _collected(site_id, "bob", timedelta(hours=2), IPHONE)
    early = _collected(site_id, "bob", timedelta(hours=1), IPHONE)
    result = _store(database, [late, early])
    # One sighting per visitor per batch: the earliest; `late` is 60 minutes after it.
    assert [e.is_new_user for e in result.events] == [False, True]
    with database.unit_of_work() as session:
        session.execute(update(Visitor).values(first_seen_at=NOW - timedelta(days=2)))
    # A visitor already known keeps its recorded first sighting (never moved by new events).
    newer = _store(database, [_collected(site_id, "bob", timedelta(0), IPHONE)])
    assert not newer.events[0].is_new_user
    with database.reader() as session:
        seen = session.scalars(select(Visitor.first_seen_at)).one()
    assert seen == NOW - timedelta(days=2)
