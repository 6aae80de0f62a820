"""The dashboard domain with in-memory fakes: windows, intervals, rates and zero-filling."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from dashboard_service.domain.metrics import (
    bucket_starts,
    campaign_metrics,
    choose_interval,
    rate,
)
from dashboard_service.domain.models import (
    ActivityInfo,
    CampaignInfo,
    CampaignMetrics,
    Measures,
    MetricsQuery,
    MetricsRequest,
    RawAggregates,
)
from dashboard_service.errors import ActivityNotFound, CampaignNotFound, InvalidRange

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
A1 = ActivityInfo(uuid.uuid4(), "first 100", "fcfs", 100, NOW - timedelta(days=2))
A2 = ActivityInfo(uuid.uuid4(), "raffle", "raffle", None, NOW - timedelta(days=1))
CAMPAIGN = CampaignInfo(
    id=uuid.uuid4(),
    name="Spring",
    site_id=uuid.uuid4(),
    starts_at=NOW - timedelta(hours=1),
    ends_at=None,
    status="active",
    activities=(A1, A2),
)


@dataclass
class FakeCatalog:
    campaigns: dict[uuid.UUID, CampaignInfo]

    def get_campaign(self, campaign_id: uuid.UUID) -> CampaignInfo | None:
        return self.campaigns.get(campaign_id)


@dataclass
class FakeStore:
    result: RawAggregates = field(default_factory=RawAggregates)
    queries: list[MetricsQuery] = field(default_factory=list)

    def campaign_metrics(self, query: MetricsQuery) -> RawAggregates:
        self.queries.append(query)
        return self.result


def run(
    request: MetricsRequest, store: FakeStore | None = None
) -> tuple[FakeStore, CampaignMetrics]:
    store = store or FakeStore()
    result = campaign_metrics(request, FakeCatalog({CAMPAIGN.id: CAMPAIGN}), store, NOW)
    return store, result


@pytest.mark.parametrize(
    ("span", "interval"),
    [
        (timedelta(minutes=1), 60),
        (timedelta(hours=2), 60),
        (timedelta(hours=2, seconds=1), 3600),
        (timedelta(days=3), 3600),
        (timedelta(days=3, seconds=1), 86400),
        (timedelta(days=90), 86400),
    ],
)
def test_interval_choice(span: timedelta, interval: int) -> None:
    assert choose_interval(NOW - span, NOW) == interval


def test_bucket_starts_are_aligned_and_cover_the_range() -> None:
    assert bucket_starts(90, 250, 60) == [60, 120, 180, 240]
    assert bucket_starts(120, 180, 60) == [120]


def test_rates_round_to_four_decimals_and_zero_without_denominator() -> None:
    assert rate(1, 3) == 0.3333
    assert rate(2, 3) == 0.6667
    assert rate(5, 0) == 0.0


def test_default_window_starts_at_the_campaign() -> None:
    store, _ = run(MetricsRequest(CAMPAIGN.id))
    (query,) = store.queries
    assert query.start_ts == int((NOW - timedelta(hours=1)).timestamp())
    assert query.end_ts == int(NOW.timestamp())
    assert query.interval_seconds == 60


def test_filters_reach_the_store() -> None:
    request = MetricsRequest(CAMPAIGN.id, activity_id=A2.id, device_type="bot", new_user=False)
    store, _ = run(request)
    (query,) = store.queries
    assert (query.activity_id, query.device_type, query.new_user) == (A2.id, "bot", False)


def test_zero_filled_result_when_the_store_has_nothing() -> None:
    _, result = run(MetricsRequest(CAMPAIGN.id))
    assert result.totals.click_rate == 0.0
    assert [a.activity_id for a in result.activities] == [A1.id, A2.id]
    assert [d.device_type for d in result.devices] == [
        "mobile",
        "desktop",
        "tablet",
        "bot",
        "other",
    ]
    assert len(result.timeline) == 60


def test_assembles_rates_from_raw_aggregates() -> None:
    raw = RawAggregates(
        totals=Measures(
            events=10,
            visits=4,
            clicks=3,
            purchases=2,
            revenue=10.005,
            unique_visitors=3,
            purchasers=1,
        ),
        by_activity={A2.id: Measures(visits=3, clicks=1, unique_visitors=3, purchasers=2)},
        by_new_user={True: Measures(events=7, unique_visitors=2)},
    )
    _, result = run(MetricsRequest(CAMPAIGN.id), FakeStore(raw))
    totals = result.totals
    assert (totals.click_rate, totals.conversion_rate, totals.new_users) == (0.75, 0.3333, 2)
    a1, a2 = result.activities
    assert (a1.visits, a1.click_rate) == (0, 0.0)
    assert (a2.click_rate, a2.conversion_rate) == (0.3333, 0.6667)
    assert result.new_vs_returning.returning.events == 0


def test_unknown_campaign() -> None:
    with pytest.raises(CampaignNotFound):
        run(MetricsRequest(uuid.uuid4()))


def test_unknown_activity() -> None:
    with pytest.raises(ActivityNotFound):
        run(MetricsRequest(CAMPAIGN.id, activity_id=uuid.uuid4()))


def test_to_must_be_after_from() -> None:
    with pytest.raises(InvalidRange):
        run(MetricsRequest(CAMPAIGN.id, start=NOW, end=NOW))
