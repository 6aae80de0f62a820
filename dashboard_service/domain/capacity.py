"""Entries against capacity: `activity_capacity` per activity, `campaign_capacity` over them.

Capacity is used up by every confirmed entry, so these figures ignore the view's filters (range,
device, new vs returning): an activity that sold out is sold out whatever the page shows. Time to
sell out runs from the activity's start (else the campaign's) to the entry that filled it.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from dashboard_service.domain.models import ActivityInfo, CampaignInfo, CapacityFigures, EntryStats

_NONE = EntryStats(entries=0, last_entry_ts=0)


def fill_rate(entries: int, capacity: int | None) -> float | None:
    if capacity is None:
        return None
    return round(entries / capacity, 4) if capacity > 0 else 1.0


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def activity_capacity(
    activity: ActivityInfo, campaign: CampaignInfo, stats: EntryStats | None
) -> CapacityFigures:
    stats = stats or _NONE
    last = datetime.fromtimestamp(stats.last_entry_ts, UTC) if stats.entries else None
    sold_out = activity.capacity is not None and stats.entries >= activity.capacity
    start = activity.starts_at or campaign.starts_at
    return CapacityFigures(
        capacity=activity.capacity,
        confirmed_entries=stats.entries,
        fill_rate=fill_rate(stats.entries, activity.capacity),
        sold_out=sold_out,
        last_entry_at=last,
        time_to_sell_out_seconds=seconds_between(start, last) if sold_out else None,
    )


def campaign_capacity(
    campaign: CampaignInfo, figures: Sequence[tuple[ActivityInfo, CapacityFigures]]
) -> CapacityFigures:
    """Capped activities add up to the campaign's capacity; it sells out when all of them do."""
    capped = [(a, f) for a, f in figures if f.capacity is not None]
    capacity = sum(f.capacity or 0 for _, f in capped) if capped else None
    capped_entries = sum(f.confirmed_entries for _, f in capped)
    last = max((f.last_entry_at for _, f in figures if f.last_entry_at), default=None)
    sold_out = bool(capped) and all(f.sold_out for _, f in capped)
    starts = [a.starts_at for a, _ in capped if a.starts_at is not None]
    start = campaign.starts_at or min(starts, default=None)
    sold_out_at = max((f.last_entry_at for _, f in capped if f.last_entry_at), default=None)
    return CapacityFigures(
        capacity=capacity,
        confirmed_entries=sum(f.confirmed_entries for _, f in figures),
        fill_rate=fill_rate(capped_entries, capacity),
        sold_out=sold_out,
        last_entry_at=last,
        time_to_sell_out_seconds=seconds_between(start, sold_out_at) if sold_out else None,
    )
