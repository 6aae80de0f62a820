"""EntryLedger over the `entries`, `activities` and `user_summaries` tables.

A decision is a handful of statements, each one round trip: find the request, the terms with
the user's confirmed count, the conditional capacity claim, the insert, and for a win the user
and summary upserts. Postgres and SQLite (the embedded default) alike.
"""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common_messaging import EntryDecided, EntryReason, EntryRequested, EntryStatus
from common_messaging.visitors import user_key
from datastore.schema import (
    CONFIRMED_ONLY,
    Activity,
    ActivityReward,
    Entry,
    User,
    UserSummary,
)
from entries_ledger.decider import ActivityTerms, SlotTaken
from entries_ledger.reward_terms import RewardTerms
from entries_ledger.sql_rewards import issue_reward
from servicekit.database import Database
from servicekit.upsert import dialect_insert
from shop_webhooks import ENTRY_DECIDED, WebhookEventIn, enqueue_webhook_events

_USERS: Table = User.__table__  # type: ignore[assignment]
_SUMMARIES: Table = UserSummary.__table__  # type: ignore[assignment]
_ENTRIES: Table = Entry.__table__  # type: ignore[assignment]


def _decided(row: Entry) -> EntryDecided:
    return EntryDecided(
        entry_id=row.id,
        site_id=row.site_id,
        campaign_id=row.campaign_id,
        activity_id=row.activity_id,
        user_id=row.user_id,
        status=EntryStatus(row.status),
        reason=EntryReason(row.reason) if row.reason else None,
        position=row.position,
        decided_at=row.decided_at,
        detail=row.detail,
    )


class SqlEntryLedger:
    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, entry_id: UUID) -> EntryDecided | None:
        row = self._session.get(Entry, entry_id)
        return None if row is None else _decided(row)

    def find_request(self, request: EntryRequested) -> EntryDecided | None:
        rows = list(
            self._session.scalars(
                select(Entry)
                .where(
                    or_(
                        Entry.id == request.entry_id,
                        and_(
                            Entry.activity_id == request.activity_id,
                            Entry.user_id == request.user_id,
                            Entry.idempotency_key == request.idempotency_key,
                            # A literal, so Postgres plans with the partial unique index.
                            CONFIRMED_ONLY,
                        ),
                    )
                )
                .limit(2)
            )
        )
        # The entry id's own row first: a replay of a decided entry answers with itself.
        rows.sort(key=lambda row: row.id != request.entry_id)
        return _decided(rows[0]) if rows else None

    def terms(self, activity_id: UUID, user_id: str) -> ActivityTerms | None:
        confirmed = (
            select(func.count())
            .select_from(Entry)
            .where(
                Entry.activity_id == activity_id,
                Entry.user_id == user_id,
                Entry.status == EntryStatus.CONFIRMED.value,
            )
            .scalar_subquery()
        )
        row = self._session.execute(
            select(
                Activity.capacity,
                Activity.per_user_limit,
                confirmed,
                ActivityReward.kind,
                ActivityReward.price_minor,
                ActivityReward.currency,
                ActivityReward.hold_ttl_s,
            )
            .outerjoin(ActivityReward, ActivityReward.activity_id == Activity.id)
            .where(Activity.id == activity_id)
        ).first()
        if row is None:
            return None
        reward = None if row[3] is None else RewardTerms(row[3], row[4], row[5], row[6])
        return ActivityTerms(row[0], row[1], row[2] or 0, reward)

    def claim_capacity(self, activity_id: UUID) -> int | None:
        # One statement: a concurrent claimer waits on the row lock, then re-checks the WHERE
        # clause against the committed count (READ COMMITTED), so the count never passes it.
        stmt = (
            update(Activity)
            .where(
                Activity.id == activity_id,
                (Activity.capacity.is_(None)) | (Activity.confirmed_count < Activity.capacity),
            )
            .values(confirmed_count=Activity.confirmed_count + 1)
            .returning(Activity.confirmed_count)
        )
        return self._session.execute(stmt).scalar_one_or_none()

    def record(
        self, request: EntryRequested, decision: EntryDecided, user_slot: int | None
    ) -> None:
        try:
            self._session.execute(insert(Entry).values(_row(request, decision, user_slot)))
        except IntegrityError as exc:
            raise SlotTaken(str(exc.orig)) from exc
        enqueue_webhook_events(self._session.connection(), [_decided_event(decision)])

    def issue_reward(
        self, request: EntryRequested, decision: EntryDecided, reward: RewardTerms
    ) -> None:
        issue_reward(self._session, request, decision, reward)

    def record_refusals(self, decisions: Sequence[tuple[EntryRequested, EntryDecided]]) -> None:
        # Refusals hold no slot (NULL) and claim no key (the key is unique among confirmed rows
        # only), so the entry id is the only thing they can collide on: a replay.
        stmt = dialect_insert(self._session, _ENTRIES).on_conflict_do_nothing(
            index_elements=[_ENTRIES.c.id]
        )
        self._session.execute(stmt, [_row(r, d, None) for r, d in decisions])
        # One statement for the batch; a replayed refusal enqueues nothing new (event id =
        # entry id).
        enqueue_webhook_events(
            self._session.connection(), [_decided_event(d) for _, d in decisions]
        )

    def count_entry_in_summary(self, request: EntryRequested, at: datetime) -> None:
        users = dialect_insert(self._session, _USERS).values(
            id=uuid.uuid4(),
            site_id=request.site_id,
            user_key=user_key(request.user_id),
            external_id=request.user_id,
            created_at=at,
        )
        # A no-op update on conflict, so RETURNING gives the existing row's id: one round trip.
        user_id = self._session.execute(
            users.on_conflict_do_update(
                index_elements=[_USERS.c.site_id, _USERS.c.user_key],
                set_={"user_key": users.excluded.user_key},
            ).returning(_USERS.c.id)
        ).scalar_one()
        summary = dialect_insert(self._session, _SUMMARIES).values(
            user_id=user_id,
            first_seen_at=at,
            last_seen_at=at,
            event_count=0,
            purchase_count=0,
            total_spent=0,
            entry_count=1,
            last_entry_at=at,
        )
        self._session.execute(
            summary.on_conflict_do_update(
                index_elements=[_SUMMARIES.c.user_id],
                set_={
                    "entry_count": _SUMMARIES.c.entry_count + 1,
                    "last_entry_at": summary.excluded.last_entry_at,
                },
            )
        )


def _decided_event(decision: EntryDecided) -> WebhookEventIn:
    """The decision as an `entry.decided` webhook event, committed with the entry's row."""
    return WebhookEventIn(
        site_id=decision.site_id,
        event_type=ENTRY_DECIDED,
        event_id=decision.entry_id,
        payload=decision.model_dump(mode="json"),
        occurred_at=decision.decided_at,
    )


def _row(
    request: EntryRequested, decision: EntryDecided, user_slot: int | None
) -> dict[str, object]:
    return {
        "id": request.entry_id,
        "site_id": request.site_id,
        "campaign_id": request.campaign_id,
        "activity_id": request.activity_id,
        "user_id": request.user_id,
        "idempotency_key": request.idempotency_key,
        "status": decision.status.value,
        "reason": decision.reason.value if decision.reason else None,
        "detail": decision.detail,
        "position": decision.position,
        "user_slot": user_slot,
        "device_type": request.device.device_type.value,
        "requested_at": request.requested_at,
        "decided_at": decision.decided_at,
    }


def ledger_scope(database: Database) -> "_Scope":
    return _Scope(database)


class _Scope:
    """`with scope() as ledger:` one unit of work; committed on success, rolled back on error."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @contextmanager
    def __call__(self) -> Iterator[SqlEntryLedger]:
        with self._database.unit_of_work() as session:
            yield SqlEntryLedger(session)
