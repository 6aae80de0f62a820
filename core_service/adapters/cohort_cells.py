"""Cohort cells kept at write time: each customer's first trusted purchase on the site, and per
(acquiring campaign, first-purchase day) the customers and, per whole weeks since and currency,
their trusted purchases' orders and amounts. The dashboard's cohorts read a few rows of these.

`record_trusted_purchases` is given only the trusted purchases stored for the first time (the
rows the purchase insert returned), so a replay or a re-delivery adds nothing. A purchase earlier
than a customer's recorded first one moves the customer: their stored purchases are read, their
old contributions subtracted and the new ones added (rare: a late or out-of-order delivery).

Concurrency: each touched customer's `users` row is locked (FOR NO KEY UPDATE, in id order) by
the statement that reads their record, so two transactions never decide on one customer at once;
the consumer's own `ensure_users` upsert already holds these locks, so there they cost no wait.
Sizes and cells are added to with `INSERT ... ON CONFLICT DO UPDATE` in key order (no lost
update, no deadlock). SQLite serialises writers itself. Purchases never change once stored
(no refunds, `trusted` is fixed when stored), so nothing is ever taken out for another reason.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from pydantic_core import to_json
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from datastore.schema import CohortCell, CohortCustomer, CohortSize, Purchase, User
from servicekit.upsert import bulk_execute, bulk_insert

CUSTOMERS: Table = CohortCustomer.__table__  # type: ignore[assignment]
SIZES: Table = CohortSize.__table__  # type: ignore[assignment]
CELLS: Table = CohortCell.__table__  # type: ignore[assignment]
_PURCHASES: Table = Purchase.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]

_CUSTOMER_ROW = ("user_id", "site_id", "campaign_id", "first_at", "event_id")
_SIZE_ROW = ("campaign_id", "first_day", "customers")
_CELL_ROW = ("campaign_id", "first_day", "weeks_since", "currency", "orders", "amount_cents")
_WEEK = timedelta(weeks=1)
_KEYS_PER_READ = 1000  # bound parameters per IN list: far below both drivers' limits

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredPurchase:
    """A trusted purchase as stored (its amount with the column's two decimals)."""

    event_id: UUID
    site_id: UUID
    user_id: UUID
    campaign_id: UUID | None
    amount: Decimal
    currency: str
    occurred_at: datetime

    @property
    def order(self) -> tuple[datetime, UUID]:
        """Which purchase is a customer's first: the earliest; at one instant, the lower id."""
        return self.occurred_at, self.event_id


@dataclass(frozen=True, slots=True)
class _First:
    site_id: UUID
    campaign_id: UUID | None
    first_at: datetime
    event_id: UUID

    @property
    def order(self) -> tuple[datetime, UUID]:
        return self.first_at, self.event_id

    @property
    def day(self) -> date:
        return self.first_at.astimezone(UTC).date()


class _Deltas:
    """What a batch adds to (or, when a customer moves, takes from) the sizes and cells."""

    def __init__(self) -> None:
        self.sizes: dict[tuple[UUID, date], int] = defaultdict(int)
        self.cells: dict[tuple[UUID, date, int, str], list[int]] = defaultdict(lambda: [0, 0])

    def customer(self, first: _First, purchases: Iterable[StoredPurchase], sign: int) -> None:
        if first.campaign_id is None:  # acquired by no campaign: in no cohort
            return
        self.sizes[(first.campaign_id, first.day)] += sign
        self.purchases(first, purchases, sign)

    def purchases(self, first: _First, purchases: Iterable[StoredPurchase], sign: int) -> None:
        if first.campaign_id is None:
            return
        for p in purchases:
            weeks = (p.occurred_at - first.first_at) // _WEEK
            cell = self.cells[(first.campaign_id, first.day, weeks, p.currency)]
            cell[0] += sign
            cell[1] += sign * int(p.amount * 100)


def record_trusted_purchases(session: Session, purchases: Sequence[StoredPurchase]) -> None:
    """Add trusted purchases stored for the first time, in the caller's transaction."""
    if not purchases:
        return
    by_user: dict[UUID, list[StoredPurchase]] = defaultdict(list)
    for p in purchases:
        by_user[p.user_id].append(p)
    users = sorted(by_user)
    recorded = _recorded(session, users)
    deltas = _Deltas()
    firsts: dict[UUID, _First] = {}
    moved: dict[UUID, _First] = {}
    for user_id in users:
        batch = by_user[user_id]
        earliest = min(batch, key=lambda p: p.order)
        old = recorded.get(user_id)
        new = _First(
            earliest.site_id, earliest.campaign_id, earliest.occurred_at, earliest.event_id
        )
        if old is None:
            firsts[user_id] = new
            deltas.customer(new, batch, +1)
        elif earliest.order < old.order:
            firsts[user_id] = moved[user_id] = new
            # Out of the old cohort, into the new; their purchases follow below, once read.
            deltas.customer(old, (), -1)
            deltas.customer(new, (), +1)
        else:
            deltas.purchases(old, batch, +1)
    if moved:
        fresh = {p.event_id for p in purchases}
        for user_id, bought in _stored(session, moved, recorded).items():
            before = [p for p in bought if p.event_id not in fresh]
            deltas.purchases(recorded[user_id], before, -1)
            deltas.purchases(moved[user_id], bought, +1)
    _write(session, firsts, deltas)


def _recorded(session: Session, users: Sequence[UUID]) -> dict[UUID, _First]:
    """The customers' records; on Postgres their `users` rows locked first, in id order, in the
    same statement (FOR NO KEY UPDATE OF users: what the consumer's user upsert holds already,
    and no conflict with the key-share locks of foreign key checks)."""
    c, u = CUSTOMERS.c, _USERS.c
    postgres = session.get_bind().dialect.name == "postgresql"
    found: dict[UUID, _First] = {}
    for chunk in _chunks(users):
        stmt = (
            select(u.id, c.site_id, c.campaign_id, c.first_at, c.event_id)
            .select_from(_USERS.outerjoin(CUSTOMERS, c.user_id == u.id))
            .where(u.id.in_(chunk))
            .order_by(u.id)
        )
        if postgres:
            stmt = stmt.with_for_update(key_share=True, of=_USERS)
        for row in session.execute(stmt):
            if row.site_id is not None:
                found[row.id] = _First(row.site_id, row.campaign_id, row.first_at, row.event_id)
    return found


def _stored(
    session: Session, moved: dict[UUID, _First], recorded: dict[UUID, _First]
) -> dict[UUID, list[StoredPurchase]]:
    """Every trusted purchase of the moved customers, the batch's included (same transaction)."""
    p = _PURCHASES.c
    by_site: dict[UUID, list[UUID]] = defaultdict(list)
    for user_id in sorted(moved):
        by_site[recorded[user_id].site_id].append(user_id)
    bought: dict[UUID, list[StoredPurchase]] = defaultdict(list)
    for site_id, users in by_site.items():
        for chunk in _chunks(users):
            for row in session.execute(
                select(
                    p.event_id, p.site_id, p.user_id, p.campaign_id, p.amount, p.currency,
                    p.occurred_at,
                ).where(p.site_id == site_id, p.user_id.in_(chunk), p.trusted.is_(True))
            ):  # fmt: skip
                bought[row.user_id].append(StoredPurchase(*row))
    return bought


def _write(session: Session, firsts: dict[UUID, _First], deltas: _Deltas) -> None:
    """Records replaced, sizes and cells added to, each table's rows in key order (the lock
    order); on Postgres in one statement (one round trip instead of three)."""
    customers = [
        {
            "user_id": user_id,
            "site_id": f.site_id,
            "campaign_id": f.campaign_id,
            "first_at": f.first_at,
            "event_id": f.event_id,
        }
        for user_id, f in sorted(firsts.items())
    ]
    sizes = [
        {"campaign_id": c, "first_day": d, "customers": n}
        for (c, d), n in sorted(deltas.sizes.items())
        if n
    ]
    cells = [
        {
            "campaign_id": c,
            "first_day": d,
            "weeks_since": k,
            "currency": cur,
            "orders": n,
            "amount_cents": cents,
        }
        for (c, d, k, cur), (n, cents) in sorted(deltas.cells.items())
        if n or cents
    ]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _POSTGRES_WRITE,
            {"customers": _json(customers), "sizes": _json(sizes), "cells": _json(cells)},
        )
        return
    if customers:
        insert = bulk_insert(session, CUSTOMERS, _CUSTOMER_ROW)
        new = insert.excluded
        stmt = insert.on_conflict_do_update(
            index_elements=["user_id"],
            set_={c: new[c] for c in ("campaign_id", "first_at", "event_id")},
        )
        bulk_execute(session, stmt, _CUSTOMER_ROW, customers)
    if sizes:
        _add(session, SIZES, _SIZE_ROW, ["campaign_id", "first_day"], sizes)
    if cells:
        _add(
            session,
            CELLS,
            _CELL_ROW,
            ["campaign_id", "first_day", "weeks_since", "currency"],
            cells,
        )


def _json(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON text (UUIDs, dates and ISO 8601 times with their offset, as Postgres's
    input functions read them)."""
    return to_json(rows).decode()


# Data-modifying CTEs run exactly once whether or not the main statement reads them, and every
# writer runs this same statement, so the tables are always locked in the same order.
_POSTGRES_WRITE = text(
    """
WITH customers AS (
    INSERT INTO cohort_customers (user_id, site_id, campaign_id, first_at, event_id)
    SELECT user_id, site_id, campaign_id, first_at, event_id
    FROM json_to_recordset(CAST(:customers AS json))
        AS r(user_id uuid, site_id uuid, campaign_id uuid, first_at timestamptz, event_id uuid)
    ON CONFLICT (user_id) DO UPDATE SET campaign_id = excluded.campaign_id,
        first_at = excluded.first_at, event_id = excluded.event_id
    RETURNING 1
), sizes AS (
    INSERT INTO cohort_sizes (campaign_id, first_day, customers)
    SELECT campaign_id, first_day, customers
    FROM json_to_recordset(CAST(:sizes AS json))
        AS r(campaign_id uuid, first_day date, customers bigint)
    ON CONFLICT (campaign_id, first_day)
        DO UPDATE SET customers = cohort_sizes.customers + excluded.customers
    RETURNING 1
)
INSERT INTO cohort_cells (campaign_id, first_day, weeks_since, currency, orders, amount_cents)
SELECT campaign_id, first_day, weeks_since, currency, orders, amount_cents
FROM json_to_recordset(CAST(:cells AS json)) AS r(campaign_id uuid, first_day date,
    weeks_since integer, currency varchar(3), orders bigint, amount_cents bigint)
ON CONFLICT (campaign_id, first_day, weeks_since, currency) DO UPDATE SET
    orders = cohort_cells.orders + excluded.orders,
    amount_cents = cohort_cells.amount_cents + excluded.amount_cents
"""
)


def _add(
    session: Session,
    table: Table,
    columns: Sequence[str],
    key: list[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    insert = bulk_insert(session, table, columns)
    added = {name: table.c[name] + insert.excluded[name] for name in columns if name not in key}
    bulk_execute(
        session, insert.on_conflict_do_update(index_elements=key, set_=added), columns, rows
    )


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for at in range(0, len(items), _KEYS_PER_READ):
        yield items[at : at + _KEYS_PER_READ]
