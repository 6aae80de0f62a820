"""dashboard_service errors: servicekit's hierarchy with this service's codes."""

from servicekit.errors import InvalidInput, NotFound


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class ActivityNotFound(NotFound):
    code = "activity_not_found"


class InvalidRange(InvalidInput):
    code = "invalid_range"


class MissingReadToken(RuntimeError):
    """Startup refused: a configured (non-embedded) database needs an explicit token."""
