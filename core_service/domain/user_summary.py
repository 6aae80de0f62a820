"""A user's summary for marketers and integrations (`GET /v1/sites/{id}/users/{key}/summary`)."""

from typing import Final
from uuid import UUID

from common_messaging.visitors import VISITOR_KEY_PREFIXES
from core_service.errors import InvalidField, UserNotFound
from user_summaries.ports import SummaryCache, SummaryReader, UserSummaryView

MAX_USER_KEY_LENGTH: Final = 200  # users.user_key is String(200)


def check_user_key(user_key: str) -> None:
    if (
        not user_key.startswith(VISITOR_KEY_PREFIXES)
        or len(user_key) <= 2
        or len(user_key) > MAX_USER_KEY_LENGTH
    ):
        raise InvalidField(
            "user_key",
            "must be 'u:<user id>' or 'a:<anonymous id>' (URL-encoded), "
            f"at most {MAX_USER_KEY_LENGTH} characters",
        )


def user_summary(
    site_id: UUID, user_key: str, reader: SummaryReader, cache: SummaryCache
) -> UserSummaryView:
    check_user_key(user_key)
    view = cache.get_or_load(site_id, user_key, lambda: reader.get(site_id, user_key))
    if view is None:
        raise UserNotFound(site_id, user_key)
    return view
