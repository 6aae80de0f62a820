"""Money admin routes: a site's reporting currency and rates, a campaign's budget and spend."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common_messaging.currency import CURRENCY_PATTERN, CurrencyRates
from core_service.adapters.money_repository import SqlMoneyRepository
from core_service.api.deps import DatabaseDep
from core_service.domain import money
from servicekit.clock import utc_now

router = APIRouter(tags=["money"])

Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
# Numeric(16, 2) columns: at most 14 integer digits, cents.
Money = Annotated[Decimal, Field(ge=0, le=Decimal("99999999999999.99"), decimal_places=2)]
Rate = Annotated[Decimal, Field(gt=0, le=Decimal("1000000000"))]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteMoneyIn(_Request):
    currency: Currency = Field(description="the site's reporting currency (ISO 4217)")
    rates: dict[Currency, Rate] = Field(
        default_factory=dict,
        description="units of the reporting currency per unit of another currency; amounts in "
        "a currency without a rate are refused (budgets, spend) or reported apart (revenue)",
    )


class SiteMoneyOut(BaseModel):
    site_id: UUID
    currency: str
    rates: dict[str, Decimal]


class AmountIn(_Request):
    amount: Money
    currency: Currency | None = Field(
        default=None, description="defaults to the site's reporting currency"
    )


class AmountOut(BaseModel):
    amount: Decimal = Field(description="in the site's reporting currency")
    entered_amount: Decimal
    entered_currency: str


class SpendOut(BaseModel):
    period: str = Field(description="`total`, or a UTC day as YYYY-MM-DD")
    amount: Decimal
    entered_amount: Decimal
    entered_currency: str
    updated_at: datetime


class CampaignMoneyOut(BaseModel):
    campaign_id: UUID
    currency: str
    budget: AmountOut | None
    spend: list[SpendOut]
    spend_total: Decimal


def _site_out(site_id: UUID, rates: CurrencyRates) -> SiteMoneyOut:
    return SiteMoneyOut(site_id=site_id, currency=rates.currency, rates=dict(rates.rates))


def _campaign_out(m: money.CampaignMoney) -> CampaignMoneyOut:
    return CampaignMoneyOut(
        campaign_id=m.campaign_id,
        currency=m.currency,
        budget=None
        if m.budget is None
        else AmountOut(
            amount=m.budget.amount,
            entered_amount=m.budget.entered_amount,
            entered_currency=m.budget.entered_currency,
        ),
        spend=[
            SpendOut(
                period=e.period,
                amount=e.amount.amount,
                entered_amount=e.amount.entered_amount,
                entered_currency=e.amount.entered_currency,
                updated_at=e.updated_at,
            )
            for e in m.spend
        ],
        spend_total=m.spend_total,
    )


@router.get("/sites/{site_id}/money")
async def get_site_money(site_id: UUID, db: DatabaseDep) -> SiteMoneyOut:
    rates = await db.run(lambda s: money.get_rates(SqlMoneyRepository(s), site_id))
    return _site_out(site_id, rates)


@router.put("/sites/{site_id}/money")
async def put_site_money(site_id: UUID, body: SiteMoneyIn, db: DatabaseDep) -> SiteMoneyOut:
    """Set the reporting currency (only while no budget or spend is stored) and the rates."""
    wanted = CurrencyRates(body.currency, body.rates)
    rates = await db.run(lambda s: money.set_rates(SqlMoneyRepository(s), site_id, wanted, utc_now))
    return _site_out(site_id, rates)


@router.get("/campaigns/{campaign_id}/money")
async def get_campaign_money(campaign_id: UUID, db: DatabaseDep) -> CampaignMoneyOut:
    result = await db.run(lambda s: money.campaign_money(SqlMoneyRepository(s), campaign_id))
    return _campaign_out(result)


@router.put("/campaigns/{campaign_id}/budget")
async def put_budget(campaign_id: UUID, body: AmountIn, db: DatabaseDep) -> CampaignMoneyOut:
    result = await db.run(
        lambda s: money.set_budget(
            SqlMoneyRepository(s), campaign_id, body.amount, body.currency, utc_now
        )
    )
    return _campaign_out(result)


@router.put("/campaigns/{campaign_id}/spend/{period}")
async def put_spend(
    campaign_id: UUID, period: str, body: AmountIn, db: DatabaseDep
) -> CampaignMoneyOut:
    """The spend of one UTC day (`period` = YYYY-MM-DD) or of the whole campaign (`total`);
    a PUT replaces that period's amount."""
    result = await db.run(
        lambda s: money.put_spend(
            SqlMoneyRepository(s), campaign_id, period, body.amount, body.currency, utc_now
        )
    )
    return _campaign_out(result)


@router.delete("/campaigns/{campaign_id}/spend/{period}")
async def delete_spend(campaign_id: UUID, period: str, db: DatabaseDep) -> CampaignMoneyOut:
    result = await db.run(lambda s: money.delete_spend(SqlMoneyRepository(s), campaign_id, period))
    return _campaign_out(result)
