"""SQLAlchemy implementation of the MoneyRepository: site currencies, budgets, spend."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from common_messaging.currency import CurrencyRates, rates_from_json
from core_service.domain.money import Amount, SpendEntry
from datastore.schema import Campaign, CampaignBudget, CampaignSpend, Site, SiteMoney
from servicekit.upsert import dialect_insert


class SqlMoneyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def site_exists(self, site_id: UUID) -> bool:
        return self._session.get(Site, site_id) is not None

    def site_of_campaign(self, campaign_id: UUID) -> UUID | None:
        return self._session.scalar(select(Campaign.site_id).where(Campaign.id == campaign_id))

    def rates(self, site_id: UUID) -> CurrencyRates:
        row = self._session.get(SiteMoney, site_id)
        return CurrencyRates() if row is None else rates_from_json(row.currency, row.rates)

    def save_rates(self, site_id: UUID, rates: CurrencyRates, now: datetime) -> None:
        values = {
            "site_id": site_id,
            "currency": rates.currency,
            "rates": {code: str(rate) for code, rate in sorted(rates.rates.items())},
            "updated_at": now,
        }
        stmt = dialect_insert(self._session, SiteMoney.__table__)  # type: ignore[arg-type]
        self._session.execute(
            stmt.values(values).on_conflict_do_update(index_elements=["site_id"], set_=values)
        )

    def site_has_amounts(self, site_id: UUID) -> bool:
        campaigns = select(Campaign.id).where(Campaign.site_id == site_id)
        return bool(
            self._session.scalar(
                select(
                    exists().where(CampaignBudget.campaign_id.in_(campaigns))
                    | exists().where(CampaignSpend.campaign_id.in_(campaigns))
                )
            )
        )

    def budget(self, campaign_id: UUID) -> Amount | None:
        row = self._session.get(CampaignBudget, campaign_id)
        if row is None:
            return None
        return Amount(row.amount, row.entered_amount, row.entered_currency)

    def save_budget(self, campaign_id: UUID, amount: Amount, now: datetime) -> None:
        values = {"campaign_id": campaign_id, **_amount(amount), "updated_at": now}
        stmt = dialect_insert(self._session, CampaignBudget.__table__)  # type: ignore[arg-type]
        self._session.execute(
            stmt.values(values).on_conflict_do_update(index_elements=["campaign_id"], set_=values)
        )

    def spend(self, campaign_id: UUID) -> list[SpendEntry]:
        rows = self._session.scalars(
            select(CampaignSpend).where(CampaignSpend.campaign_id == campaign_id)
        )
        return [
            SpendEntry(
                r.period, Amount(r.amount, r.entered_amount, r.entered_currency), r.updated_at
            )
            for r in rows
        ]

    def save_spend(self, campaign_id: UUID, period: str, amount: Amount, now: datetime) -> None:
        values = {
            "campaign_id": campaign_id,
            "period": period,
            **_amount(amount),
            "updated_at": now,
        }
        stmt = dialect_insert(self._session, CampaignSpend.__table__)  # type: ignore[arg-type]
        self._session.execute(
            stmt.values(values).on_conflict_do_update(
                index_elements=["campaign_id", "period"], set_=values
            )
        )

    def delete_spend(self, campaign_id: UUID, period: str) -> bool:
        result = self._session.execute(
            delete(CampaignSpend)
            .where(CampaignSpend.campaign_id == campaign_id, CampaignSpend.period == period)
            .returning(CampaignSpend.id)
        )
        return result.first() is not None


def _amount(amount: Amount) -> dict[str, object]:
    return {
        "amount": amount.amount,
        "entered_amount": amount.entered_amount,
        "entered_currency": amount.entered_currency,
    }
