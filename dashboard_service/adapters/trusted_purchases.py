"""THE definition of the purchases that count as revenue, for every money figure.

The purchases the site vouched for (`purchases.trusted`: sent by its server with its secret,
or with the user's signed token; docs/reliability.md, "Trusted facts"), one row per purchase
event id, so a replay adds nothing. A browser's purchase on its own word is not revenue.

The cohorts and new customers are read from cells kept when purchases are stored, from the same
`purchases.trusted` (core_service/adapters/cohort_cells.py): narrowing this definition means
narrowing that writer too, with a migration that rebuilds the cells.
"""

from sqlalchemy import Subquery, select

from datastore.schema import Purchase


def trusted_purchases() -> Subquery:
    """The `purchases` rows that count: columns event_id, site_id, user_id, campaign_id,
    activity_id, amount, currency, occurred_at."""
    p = Purchase.__table__.c
    return (
        select(
            p.event_id,
            p.site_id,
            p.user_id,
            p.campaign_id,
            p.activity_id,
            p.amount,
            p.currency,
            p.occurred_at,
        )
        .where(p.trusted.is_(True))
        .subquery("trusted_purchases")
    )
