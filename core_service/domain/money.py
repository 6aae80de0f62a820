"""A site's reporting currency, and each campaign's budget and spend, as staff enter them.

Every amount is stored in the site's reporting currency (converted on entry with the site's
rate, the amount as typed kept beside it), so the dashboard adds amounts of one currency only.
An amount in a currency without a rate is refused, never stored unconverted.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from common_messaging.currency import CurrencyRates, to_cents
from core_service.errors import (
    CampaignNotFound,
    CurrencyLocked,
    InvalidField,
    SiteNotFound,
    SpendModeConflict,
    SpendNotFound,
    UnsupportedCurrency,
)
from servicekit.clock import Clock

TOTAL = "total"  # the period of a spend entered for the whole campaign


@dataclass(frozen=True)
class Amount:
    """An amount in the reporting currency, with what staff typed."""

    amount: Decimal
    entered_amount: Decimal
    entered_currency: str


@dataclass(frozen=True)
class SpendEntry:
    period: str  # TOTAL or an ISO date (a UTC day)
    amount: Amount
    updated_at: datetime


@dataclass(frozen=True)
class CampaignMoney:
    campaign_id: UUID
    currency: str
    budget: Amount | None
    spend: tuple[SpendEntry, ...]

    @property
    def spend_total(self) -> Decimal:
        return sum((e.amount.amount for e in self.spend), Decimal("0"))


class MoneyRepository(Protocol):
    def site_exists(self, site_id: UUID) -> bool: ...

    def site_of_campaign(self, campaign_id: UUID) -> UUID | None: ...

    def rates(self, site_id: UUID) -> CurrencyRates: ...

    def save_rates(self, site_id: UUID, rates: CurrencyRates, now: datetime) -> None: ...

    def site_has_amounts(self, site_id: UUID) -> bool:
        """Whether any budget or spend of the site's campaigns is stored."""
        ...

    def budget(self, campaign_id: UUID) -> Amount | None: ...

    def save_budget(self, campaign_id: UUID, amount: Amount, now: datetime) -> None: ...

    def spend(self, campaign_id: UUID) -> list[SpendEntry]: ...

    def save_spend(self, campaign_id: UUID, period: str, amount: Amount, now: datetime) -> None: ...

    def delete_spend(self, campaign_id: UUID, period: str) -> bool: ...


def get_rates(repo: MoneyRepository, site_id: UUID) -> CurrencyRates:
    if not repo.site_exists(site_id):
        raise SiteNotFound(site_id)
    return repo.rates(site_id)


def set_rates(
    repo: MoneyRepository, site_id: UUID, wanted: CurrencyRates, clock: Clock
) -> CurrencyRates:
    current = get_rates(repo, site_id)
    if wanted.currency in wanted.rates:
        raise InvalidField(f"rates.{wanted.currency}", "the reporting currency needs no rate")
    if wanted.currency != current.currency and repo.site_has_amounts(site_id):
        # Stored amounts were converted into the old currency; they would silently change meaning.
        raise CurrencyLocked(site_id, current.currency)
    repo.save_rates(site_id, wanted, clock())
    return wanted


def _site_of(repo: MoneyRepository, campaign_id: UUID) -> UUID:
    site_id = repo.site_of_campaign(campaign_id)
    if site_id is None:
        raise CampaignNotFound(campaign_id)
    return site_id


def _convert(repo: MoneyRepository, site_id: UUID, amount: Decimal, currency: str | None) -> Amount:
    rates = repo.rates(site_id)
    entered_currency = currency or rates.currency
    converted = rates.convert(amount, entered_currency)
    if converted is None:
        raise UnsupportedCurrency(entered_currency, rates.currency)
    return Amount(to_cents(converted), amount, entered_currency)


def campaign_money(repo: MoneyRepository, campaign_id: UUID) -> CampaignMoney:
    site_id = _site_of(repo, campaign_id)
    return CampaignMoney(
        campaign_id=campaign_id,
        currency=repo.rates(site_id).currency,
        budget=repo.budget(campaign_id),
        spend=tuple(sorted(repo.spend(campaign_id), key=lambda e: e.period)),
    )


def set_budget(
    repo: MoneyRepository, campaign_id: UUID, amount: Decimal, currency: str | None, clock: Clock
) -> CampaignMoney:
    site_id = _site_of(repo, campaign_id)
    repo.save_budget(campaign_id, _convert(repo, site_id, amount, currency), clock())
    return campaign_money(repo, campaign_id)


def parse_period(period: str) -> str:
    """`total`, or a calendar day (UTC) as YYYY-MM-DD."""
    if period == TOTAL:
        return TOTAL
    try:
        return date.fromisoformat(period).isoformat()
    except ValueError:
        raise InvalidField("period", "`total` or a day as YYYY-MM-DD") from None


def put_spend(
    repo: MoneyRepository,
    campaign_id: UUID,
    period: str,
    amount: Decimal,
    currency: str | None,
    clock: Clock,
) -> CampaignMoney:
    """Set (replace) the spend of one day, or the campaign's total. A campaign's spend is
    either daily or one total: mixing both would count the same money twice."""
    site_id = _site_of(repo, campaign_id)
    period = parse_period(period)
    others = {e.period for e in repo.spend(campaign_id)} - {period}
    if others and (period == TOTAL or TOTAL in others):
        raise SpendModeConflict(campaign_id, period)
    repo.save_spend(campaign_id, period, _convert(repo, site_id, amount, currency), clock())
    return campaign_money(repo, campaign_id)


def delete_spend(repo: MoneyRepository, campaign_id: UUID, period: str) -> CampaignMoney:
    _site_of(repo, campaign_id)
    period = parse_period(period)
    if not repo.delete_spend(campaign_id, period):
        raise SpendNotFound(campaign_id, period)
    return campaign_money(repo, campaign_id)
