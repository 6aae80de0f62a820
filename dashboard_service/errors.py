"""dashboard_service errors: servicekit's hierarchy with this service's codes."""

from servicekit.errors import InvalidInput, NotFound, PulseError, Unauthorized, Unavailable


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class SiteNotFound(NotFound):
    code = "site_not_found"


class ActivityNotFound(NotFound):
    code = "activity_not_found"


class InvalidRange(InvalidInput):
    code = "invalid_range"


class AnalyticsUnavailable(Unavailable):
    """The analytics engine could not answer (down, or a new index still starting)."""

    code = "analytics_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"analytics are temporarily unavailable ({reason}); retry shortly",
            headers={"Retry-After": "2"},
        )


class MissingReadToken(RuntimeError):
    """Startup refused: a configured (non-embedded) database needs an explicit token."""


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


class TooManyStreams(Unavailable):
    """Every live-update slot of this process is taken."""

    code = "too_many_streams"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this dashboard already serves {limit} live streams; retry shortly",
            details={"limit": limit},
            headers={"Retry-After": "5"},
        )


class InvalidSession(Unauthorized):
    code = "invalid_session"


class UiNotBuilt(Unavailable):
    code = "ui_not_built"


class AssetNotFound(NotFound):
    code = "asset_not_found"


class TooManySignIns(PulseError):
    """An address kept presenting wrong tokens (a guessing guard, see domain/sign_in_guard)."""

    status_code = 429
    code = "rate_limited"
