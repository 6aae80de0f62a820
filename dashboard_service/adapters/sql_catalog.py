"""CampaignCatalog over the `campaigns` and `activities` tables; read-only."""

from uuid import UUID

from sqlalchemy import Engine, and_, func, or_, select

from dashboard_service.domain.models import ActivityInfo, CampaignInfo, CampaignSummary
from dashboard_service.domain.paging import CursorKey
from datastore.schema import Activity, Campaign


class SqlCampaignCatalog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_campaign(self, campaign_id: UUID) -> CampaignInfo | None:
        """Two statements whatever the number of activities: the campaign, then its activities."""
        campaign_stmt = select(
            Campaign.id,
            Campaign.name,
            Campaign.site_id,
            Campaign.starts_at,
            Campaign.ends_at,
            Campaign.status,
        ).where(Campaign.id == campaign_id)
        activities_stmt = (
            select(
                Activity.id,
                Activity.name,
                Activity.type,
                Activity.capacity,
                Activity.created_at,
                Activity.starts_at,
            )
            .where(Activity.campaign_id == campaign_id)
            .order_by(Activity.created_at, Activity.id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(campaign_stmt).one_or_none()
            if row is None:
                return None
            activities = conn.execute(activities_stmt).all()
        return CampaignInfo(
            id=row.id,
            name=row.name,
            site_id=row.site_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=row.status,
            activities=tuple(
                ActivityInfo(
                    id=a.id,
                    name=a.name,
                    type=a.type,
                    capacity=a.capacity,
                    created_at=a.created_at,
                    starts_at=a.starts_at,
                )
                for a in activities
            ),
        )

    def list_campaigns(self, after: CursorKey | None, limit: int) -> list[CampaignSummary]:
        """One statement: a page of campaigns, newest first, with their activity counts."""
        activity_count = (
            select(func.count())
            .where(Activity.campaign_id == Campaign.id)
            .correlate(Campaign)
            .scalar_subquery()
        )
        stmt = select(
            Campaign.id,
            Campaign.name,
            Campaign.site_id,
            Campaign.starts_at,
            Campaign.ends_at,
            Campaign.status,
            Campaign.created_at,
            activity_count.label("activity_count"),
        )
        if after is not None:
            stmt = stmt.where(
                or_(
                    Campaign.created_at < after.created_at,
                    and_(Campaign.created_at == after.created_at, Campaign.id < after.id),
                )
            )
        stmt = stmt.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            CampaignSummary(
                id=r.id,
                name=r.name,
                site_id=r.site_id,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                status=r.status,
                created_at=r.created_at,
                activity_count=int(r.activity_count),
            )
            for r in rows
        ]
