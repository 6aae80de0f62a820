"""The visitor groups a campaign's sketches are kept for, and which an event belongs to.

A campaign view's unique visitors are each one group's sketches merged over the view's buckets:
everyone, the funnel's stages, purchasers, per activity, per device, new vs returning. Views
with a filter (activity, device, new user) need the groups' intersections, which sketches of
groups cannot give: those views read the raw events (dashboard_service's rollup store).
"""

from functools import lru_cache
from typing import Final
from uuid import UUID

ALL: Final = "all"
VIEWED: Final = "view"  # page views
CLICKED: Final = "click"
CONVERTED: Final = "conv"  # entered or purchased
PURCHASED: Final = "purch"

_STAGES: Final[dict[str, tuple[str, ...]]] = {
    "page_view": (VIEWED,),
    "click": (CLICKED,),
    "entry": (CONVERTED,),
    "purchase": (CONVERTED, PURCHASED),
}


def activity_group(activity_id: UUID) -> str:
    return f"a:{activity_id}"


def activity_purchasers(activity_id: UUID) -> str:
    return f"p:{activity_id}"


def device_group(device_type: str) -> str:
    return f"d:{device_type}"


def new_user_group(is_new_user: bool) -> str:
    return f"n:{int(is_new_user)}"


# Cached: called for every event stored, with few distinct arguments (types x activities x
# devices x new), and building the names (a UUID formatted each time) was most of its cost.
@lru_cache(maxsize=8192)
def groups_of(
    event_type: str, activity_id: UUID | None, device_type: str, is_new_user: bool
) -> tuple[str, ...]:
    """Every group whose visitors an event of these fields counts in."""
    groups = [ALL, *_STAGES.get(event_type, ()), device_group(device_type)]
    groups.append(new_user_group(is_new_user))
    if activity_id is not None:
        groups.append(activity_group(activity_id))
        if event_type == "purchase":
            groups.append(activity_purchasers(activity_id))
    return tuple(groups)
