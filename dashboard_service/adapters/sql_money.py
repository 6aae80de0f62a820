"""MoneyStore over the database: trusted purchases, the site's rates, budgets and spend.

Revenue comes from the source of truth (`purchases`, through adapters.trusted_purchases) on
both ways to run, so money is exact and the same whichever analytics index is configured.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    Numeric,
    Select,
    String,
    cast,
    extract,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from common_messaging.currency import CurrencyRates, rates_from_json
from dashboard_service.adapters.trusted_purchases import trusted_purchases
from dashboard_service.domain.money_models import (
    CampaignMoneyTotals,
    CohortFacts,
    CohortLine,
    MoneySettings,
    PurchaseFacts,
    RevenueLine,
    SpendFact,
)
from datastore.schema import Campaign, CampaignBudget, CampaignSpend, Purchase, Site, SiteMoney

WEEK_SECONDS: Final = 7 * 86400


def _acquired(site_id: UUID, campaign_id: UUID) -> Select[tuple[UUID, datetime]]:
    """Customers whose first trusted purchase on the site was made in the campaign: each
    customer's first trusted purchase in the campaign, with none on the site before it. Read from
    the campaign's purchases (then one index probe per customer), not the site's every one."""
    t = trusted_purchases()
    first = (
        select(t.c.user_id, func.min(t.c.occurred_at).label("first_at"))
        .where(t.c.campaign_id == campaign_id)
        .group_by(t.c.user_id)
        .subquery("first_in_campaign")
    )
    p = Purchase.__table__.c
    earlier = select(p.id).where(
        p.site_id == site_id,
        p.user_id == first.c.user_id,
        p.occurred_at < first.c.first_at,
        p.trusted.is_(True),
    )
    return select(first.c.user_id, first.c.first_at).where(~earlier.exists())


def _utc_day(conn: Connection, at: ColumnElement[datetime]) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("UTC", at), Date)
    return func.date(at)  # SQLite holds UTC text


def _weeks_between(
    conn: Connection, first: ColumnElement[datetime], then: ColumnElement[datetime]
) -> ColumnElement[int]:
    """Whole weeks from `first` to `then` (floor), as `(then - first) // WEEK` in Python."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(extract("epoch", then - first) / WEEK_SECONDS), Integer)
    # julianday has millisecond precision; rounded to whole milliseconds, the floor is exact.
    millis = cast(func.round((func.julianday(then) - func.julianday(first)) * 86_400_000), Integer)
    return millis // (WEEK_SECONDS * 1000)


class SqlMoneyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def settings(self, site_id: UUID, campaign_id: UUID) -> MoneySettings:
        with self._engine.connect() as conn:
            return MoneySettings(
                rates=_rates(conn, site_id),
                budget=conn.scalar(
                    select(CampaignBudget.amount).where(CampaignBudget.campaign_id == campaign_id)
                ),
                spend=tuple(
                    SpendFact(period, amount)
                    for period, amount in conn.execute(
                        select(CampaignSpend.period, CampaignSpend.amount).where(
                            CampaignSpend.campaign_id == campaign_id
                        )
                    )
                ),
            )

    def purchases(
        self,
        site_id: UUID,
        campaign_id: UUID,
        spans: Sequence[tuple[datetime, datetime]],
        activity_id: UUID | None = None,
    ) -> list[PurchaseFacts]:
        t = trusted_purchases()
        where: list[ColumnElement[bool]] = [t.c.campaign_id == campaign_id]
        if activity_id is not None:
            where.append(t.c.activity_id == activity_id)
        results = []
        with self._engine.connect() as conn:
            for start, end in spans:
                in_span = [*where, t.c.occurred_at >= start, t.c.occurred_at < end]
                lines = conn.execute(
                    select(t.c.activity_id, t.c.currency, func.count(), func.sum(t.c.amount))
                    .where(*in_span)
                    .group_by(t.c.activity_id, t.c.currency)
                )
                acquired = _acquired(site_id, campaign_id).subquery("acquired")
                new_customers = conn.scalar(
                    select(func.count()).where(
                        acquired.c.first_at >= start, acquired.c.first_at < end
                    )
                )
                results.append(
                    PurchaseFacts(
                        lines=tuple(
                            RevenueLine(_uuid(a), c, int(n), Decimal(s or 0))
                            for a, c, n, s in lines
                        ),
                        new_customers=int(new_customers or 0),
                    )
                )
        return results

    def cohort_facts(self, site_id: UUID, campaign_id: UUID) -> CohortFacts:
        """One statement: the customers per first day (`since` -1), then their purchases'
        sums; who was acquired is worked out once (a CTE)."""
        t = trusted_purchases()
        acquired = _acquired(site_id, campaign_id).cte("acquired")
        customers: dict[date, int] = {}
        lines = []
        with self._engine.connect() as conn:
            day = _utc_day(conn, acquired.c.first_at).label("day")
            since = _weeks_between(conn, acquired.c.first_at, t.c.occurred_at).label("since")
            members = select(
                day,
                literal(-1, Integer).label("since"),
                literal("", String).label("currency"),
                func.count(),
                literal(0, Numeric),
            ).group_by(day)
            bought = (
                select(day, since, t.c.currency, func.count(), func.sum(t.c.amount))
                .join(t, t.c.user_id == acquired.c.user_id)
                .where(t.c.site_id == site_id)
                .group_by(day, since, t.c.currency)
            )
            for d, k, currency, n, amount in conn.execute(union_all(members, bought)):
                if k < 0:
                    customers[_date(d)] = int(n)
                else:
                    lines.append(CohortLine(_date(d), int(k), currency, int(n), Decimal(amount)))
        return CohortFacts(customers, tuple(lines))

    def site_money(
        self, site_id: UUID, start: datetime, end: datetime
    ) -> tuple[CurrencyRates, list[CampaignMoneyTotals]] | None:
        t = trusted_purchases()
        campaigns = select(
            Campaign.id, Campaign.name, Campaign.status, Campaign.starts_at, Campaign.ends_at
        ).where(Campaign.site_id == site_id)
        ids = select(Campaign.id).where(Campaign.site_id == site_id)
        with self._engine.connect() as conn:
            if conn.scalar(select(Site.id).where(Site.id == site_id)) is None:
                return None
            rates = _rates(conn, site_id)
            rows = conn.execute(campaigns.order_by(Campaign.created_at)).all()
            budgets = dict(
                conn.execute(
                    select(CampaignBudget.campaign_id, CampaignBudget.amount).where(
                        CampaignBudget.campaign_id.in_(ids)
                    )
                ).all()
            )
            spend: dict[UUID, list[SpendFact]] = {}
            for cid, period, amount in conn.execute(
                select(CampaignSpend.campaign_id, CampaignSpend.period, CampaignSpend.amount).where(
                    CampaignSpend.campaign_id.in_(ids)
                )
            ):
                spend.setdefault(cid, []).append(SpendFact(period, amount))
            lines: dict[UUID, list[RevenueLine]] = {}
            for cid, currency, n, total in conn.execute(
                select(t.c.campaign_id, t.c.currency, func.count(), func.sum(t.c.amount))
                .where(t.c.site_id == site_id, t.c.occurred_at >= start, t.c.occurred_at < end)
                .where(t.c.campaign_id.is_not(None))
                .group_by(t.c.campaign_id, t.c.currency)
            ):
                lines.setdefault(_uuid_req(cid), []).append(
                    RevenueLine(None, currency, int(n), Decimal(total or 0))
                )
        return rates, [
            CampaignMoneyTotals(
                campaign_id=r.id,
                name=r.name,
                status=r.status,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                budget=budgets.get(r.id),
                spend=tuple(spend.get(r.id, ())),
                lines=tuple(lines.get(r.id, ())),
            )
            for r in rows
        ]


def _rates(conn: Connection, site_id: UUID) -> CurrencyRates:
    row = conn.execute(
        select(SiteMoney.currency, SiteMoney.rates).where(SiteMoney.site_id == site_id)
    ).first()
    return CurrencyRates() if row is None else rates_from_json(row.currency, row.rates)


def _uuid(value: object) -> UUID | None:
    return None if value is None else _uuid_req(value)


def _uuid_req(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _date(value: date | str) -> date:
    """A date, whatever the driver returned for a derived column (SQLite: text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value
