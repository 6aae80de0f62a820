"""THE definition of the purchases that count as revenue, for every money figure.

Today: every purchase core_service stored (`purchases`, one row per purchase event id, so a
replay adds nothing). Issue 12 defines "trusted purchases" (e.g. confirmed by the shop's
server); narrowing revenue to them means changing only this selection.
"""

from sqlalchemy import Subquery, select

from datastore.schema import Purchase


def trusted_purchases() -> Subquery:
    """The `purchases` rows that count: columns event_id, site_id, user_id, campaign_id,
    activity_id, amount, currency, occurred_at."""
    p = Purchase.__table__.c
    return select(
        p.event_id,
        p.site_id,
        p.user_id,
        p.campaign_id,
        p.activity_id,
        p.amount,
        p.currency,
        p.occurred_at,
    ).subquery("trusted_purchases")
