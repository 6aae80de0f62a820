"""Campaign metrics: resolve the window, ask the store once, assemble rates and zero-filled rows."""

import math
from datetime import UTC, datetime, timedelta

from dashboard_service.domain.campaign_money import with_money_and_trends
from dashboard_service.domain.capacity import activity_capacity, campaign_capacity
from dashboard_service.domain.models import (
    DEVICE_TYPES,
    ActivityInfo,
    ActivityMetrics,
    CampaignInfo,
    CampaignMetrics,
    CapacityFigures,
    DeviceMetrics,
    FunnelCounts,
    FunnelStage,
    Measures,
    MetricsQuery,
    MetricsRequest,
    NewVsReturning,
    RawAggregates,
    TimelineBucket,
    TimeRange,
    Totals,
    VisitorGroup,
)
from dashboard_service.domain.ports import AnalyticsStore, CampaignCatalog, MoneyStore
from dashboard_service.errors import ActivityNotFound, CampaignNotFound, InvalidRange

DEFAULT_LOOKBACK = timedelta(days=7)
# Day buckets over this span stay a few hundred rows; longer asks are refused, not truncated.
MAX_RANGE = timedelta(days=400)
MINUTE, HOUR, DAY = 60, 3600, 86400
_EMPTY = Measures()


def campaign_metrics(
    request: MetricsRequest,
    catalog: CampaignCatalog,
    store: AnalyticsStore,
    now: datetime,
    money: MoneyStore | None = None,
) -> CampaignMetrics:
    campaign = catalog.get_campaign(request.campaign_id)
    if campaign is None:
        raise CampaignNotFound(
            f"no campaign with id {request.campaign_id}",
            details={"campaign_id": str(request.campaign_id)},
        )
    if request.activity_id is not None and all(
        a.id != request.activity_id for a in campaign.activities
    ):
        raise ActivityNotFound(
            f"campaign {campaign.id} has no activity {request.activity_id}",
            details={"activity_id": str(request.activity_id)},
        )
    start, end = resolve_window(request, campaign, now)
    query = build_query(request, start, end)
    raw = store.campaign_metrics(query)
    return with_money_and_trends(
        assemble(campaign, query, start, end, raw), request, query, raw, money
    )


def resolve_window(
    request: MetricsRequest, campaign: CampaignInfo, now: datetime
) -> tuple[datetime, datetime]:
    """`from`/`to` as given; by default from the campaign start (or 7 days ago) until now,
    rounded up to the minute (no event is later, and whole minutes can be read from rollups)."""
    try:
        end = (request.end or ceil_minute(now)).astimezone(UTC)
        start = request.start.astimezone(UTC) if request.start is not None else None
    except OverflowError as exc:  # e.g. year 1 at +14:00 is before the first UTC instant
        raise InvalidRange("`from`/`to` are outside the supported dates") from exc
    if start is None:
        start = end - DEFAULT_LOOKBACK
        if campaign.starts_at is not None and campaign.starts_at < end:
            start = max(campaign.starts_at.astimezone(UTC), end - MAX_RANGE)
    if end <= start:
        raise InvalidRange(
            "`to` must be after `from`",
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
    if end - start > MAX_RANGE:
        raise InvalidRange(
            f"the range may span at most {MAX_RANGE.days} days",
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
    return start, end


def ceil_minute(moment: datetime) -> datetime:
    floored = moment.replace(second=0, microsecond=0)
    return floored if floored == moment else floored + timedelta(minutes=1)


def choose_interval(start: datetime, end: datetime) -> int:
    span = end - start
    if span <= timedelta(hours=2):
        return MINUTE
    if span <= timedelta(days=3):
        return HOUR
    return DAY


def build_query(request: MetricsRequest, start: datetime, end: datetime) -> MetricsQuery:
    start_ts, end_ts = math.floor(start.timestamp()), math.ceil(end.timestamp())
    return MetricsQuery(
        campaign_id=request.campaign_id,
        start_ts=start_ts,
        end_ts=end_ts,
        # The same-length period just before, for the trends; same request to the engine.
        previous=(start_ts - (end_ts - start_ts), start_ts),
        interval_seconds=choose_interval(start, end),
        activity_id=request.activity_id,
        device_type=request.device_type,
        new_user=request.new_user,
    )


def rate(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def bucket_starts(start_ts: int, end_ts: int, interval: int) -> list[int]:
    """Contiguous, epoch-aligned bucket starts covering `[start_ts, end_ts)`."""
    first = start_ts - start_ts % interval
    return list(range(first, end_ts, interval))


def assemble(
    campaign: CampaignInfo,
    query: MetricsQuery,
    start: datetime,
    end: datetime,
    raw: RawAggregates,
) -> CampaignMetrics:
    new = raw.by_new_user.get(True, _EMPTY)
    returning = raw.by_new_user.get(False, _EMPTY)
    capacities = [
        (a, activity_capacity(a, campaign, raw.entries_by_activity.get(a.id)))
        for a in campaign.activities
    ]
    return CampaignMetrics(
        campaign=campaign,
        range=TimeRange(start=start, end=end, interval_seconds=query.interval_seconds),
        totals=_totals(raw.totals, new, returning, campaign_capacity(campaign, capacities)),
        activities=tuple(
            _activity(a, raw.by_activity.get(a.id, _EMPTY), figures) for a, figures in capacities
        ),
        devices=tuple(
            DeviceMetrics(device_type=d, events=m.events, unique_visitors=m.unique_visitors)
            for d in DEVICE_TYPES
            for m in [raw.by_device.get(d, _EMPTY)]
        ),
        new_vs_returning=NewVsReturning(
            new=VisitorGroup(visitors=new.unique_visitors, events=new.events),
            returning=VisitorGroup(visitors=returning.unique_visitors, events=returning.events),
        ),
        funnel=funnel(raw.funnel),
        timeline=tuple(
            _bucket(ts, raw.by_bucket.get(ts, _EMPTY))
            for ts in bucket_starts(query.start_ts, query.end_ts, query.interval_seconds)
        ),
        approximations=dict.fromkeys(VISITOR_FIELDS, raw.visitors_error)
        if raw.visitors_error is not None
        else {},
    )


# Every figure made of unique visitors (or purchasers), which a sketch-backed store estimates.
VISITOR_FIELDS = (
    "totals.unique_visitors",
    "totals.new_users",
    "totals.returning_users",
    "totals.conversion_rate",
    "activities.unique_visitors",
    "activities.conversion_rate",
    "devices.unique_visitors",
    "new_vs_returning.visitors",
    "funnel.visitors",
    "funnel.rates",
    "trends.unique_visitors",
    "trends.conversion_rate",
)


FUNNEL_STAGES = ("visited", "clicked", "entered_or_purchased")


def funnel(counts: FunnelCounts) -> tuple[FunnelStage, ...]:
    """Unique visitors per stage: who viewed a page, who clicked, who entered or purchased, each
    with its share of the stage before and of the first. A stage counts everyone who did its
    action in the view, so a visitor who entered without a tracked click counts in the third
    stage only (nested stages would cost four more distinct counts per view)."""
    visitors = (counts.visited, counts.clicked, counts.converted)
    return tuple(
        FunnelStage(
            stage=name,
            visitors=n,
            rate_from_previous=1.0 if i == 0 else rate(n, visitors[i - 1]),
            rate_from_first=1.0 if i == 0 else rate(n, visitors[0]),
        )
        for i, (name, n) in enumerate(zip(FUNNEL_STAGES, visitors, strict=True))
    )


def _totals(m: Measures, new: Measures, returning: Measures, cap: CapacityFigures) -> Totals:
    return Totals(
        visits=m.visits,
        unique_visitors=m.unique_visitors,
        clicks=m.clicks,
        form_submits=m.form_submits,
        purchases=m.purchases,
        revenue=round(m.revenue, 2),
        click_rate=rate(m.clicks, m.visits),
        conversion_rate=rate(m.purchasers, m.unique_visitors),
        new_users=new.unique_visitors,
        returning_users=returning.unique_visitors,
        entries=m.entries,
        capacity=cap.capacity,
        confirmed_entries=cap.confirmed_entries,
        fill_rate=cap.fill_rate,
        sold_out=cap.sold_out,
        time_to_sell_out_seconds=cap.time_to_sell_out_seconds,
    )


def _activity(info: ActivityInfo, m: Measures, cap: CapacityFigures) -> ActivityMetrics:
    return ActivityMetrics(
        activity_id=info.id,
        name=info.name,
        type=info.type,
        starts_at=info.starts_at,
        visits=m.visits,
        unique_visitors=m.unique_visitors,
        clicks=m.clicks,
        click_rate=rate(m.clicks, m.visits),
        purchases=m.purchases,
        revenue=round(m.revenue, 2),
        conversion_rate=rate(m.purchasers, m.unique_visitors),
        entries=m.entries,
        capacity=cap.capacity,
        confirmed_entries=cap.confirmed_entries,
        fill_rate=cap.fill_rate,
        sold_out=cap.sold_out,
        last_entry_at=cap.last_entry_at,
        time_to_sell_out_seconds=cap.time_to_sell_out_seconds,
    )


def _bucket(ts: int, m: Measures) -> TimelineBucket:
    return TimelineBucket(
        bucket_start=datetime.fromtimestamp(ts, UTC),
        visits=m.visits,
        clicks=m.clicks,
        purchases=m.purchases,
        entries=m.entries,
    )
