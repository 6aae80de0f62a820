"""The key a visitor is counted under on a site: `u:<user id>` when the site named the user,
else `a:<anonymous id>`. Every store (users, summaries, the index, Redis) uses this one form."""

from typing import Final

USER_PREFIX: Final = "u:"
ANONYMOUS_PREFIX: Final = "a:"
VISITOR_KEY_PREFIXES: Final = (USER_PREFIX, ANONYMOUS_PREFIX)


def user_key(user_id: str) -> str:
    """The key of a visitor the site identified (signed user token, `identify`)."""
    return USER_PREFIX + user_id


def visitor_key(user_id: str | None, anonymous_id: str) -> str:
    """The identity events are counted under: the site's user id when known."""
    return user_key(user_id) if user_id else ANONYMOUS_PREFIX + anonymous_id
