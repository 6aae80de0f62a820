"""CampaignCatalog over the `campaigns` and `activities` tables; read-only."""

from uuid import UUID

from sqlalchemy import Engine, select

from dashboard_service.domain.models import ActivityInfo, CampaignInfo
from migrations.schema import Activity, Campaign


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
                Activity.id, Activity.name, Activity.type, Activity.capacity, Activity.created_at
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
                    id=a.id, name=a.name, type=a.type, capacity=a.capacity, created_at=a.created_at
                )
                for a in activities
            ),
        )
