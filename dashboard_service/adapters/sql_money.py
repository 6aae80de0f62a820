"""MoneyStore over the database: trusted purchases, the site's rates, budgets and spend.

Revenue comes from the source of truth (`purchases`, through adapters.trusted_purchases) on
both ways to run, so money is exact and the same whichever analytics index is configured. The
cohorts and new customers come from the cohort tables kept in the same transactions as the
purchases (core_service/adapters/cohort_cells.py; docs/dashboard.md).
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection, Engine, func, select
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
from datastore.schema import (
    Campaign,
    CampaignBudget,
    CampaignSpend,
    CohortCell,
    CohortCustomer,
    CohortSize,
    Site,
    SiteMoney,
)


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
                new_customers = conn.scalar(
                    select(func.count()).where(
                        CohortCustomer.campaign_id == campaign_id,
                        CohortCustomer.first_at >= start,
                        CohortCustomer.first_at < end,
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
        """The campaign's cohort sizes and cells, kept when the purchases were stored
        (core_service.adapters.cohort_cells): a few rows per cohort day. `site_id` is implied
        by the campaign (a customer's record is per site)."""
        c, s = CohortCell.__table__.c, CohortSize.__table__.c
        with self._engine.connect() as conn:
            customers = {
                _date(day): int(n)
                for day, n in conn.execute(
                    select(s.first_day, s.customers).where(
                        s.campaign_id == campaign_id, s.customers > 0
                    )
                )
            }
            lines = tuple(
                CohortLine(_date(day), int(k), currency, int(n), Decimal(cents).scaleb(-2))
                for day, k, currency, n, cents in conn.execute(
                    select(c.first_day, c.weeks_since, c.currency, c.orders, c.amount_cents).where(
                        c.campaign_id == campaign_id, c.orders > 0
                    )
                )
            )
        return CohortFacts(customers, lines)

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
