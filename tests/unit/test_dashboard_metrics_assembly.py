"""What assembly passes through from the raw aggregates, found by mutation testing: revenue
rounded to cents, each activity's own entries against its capacity (and the campaign's sell-out
time), an activity's start, and a funnel whose first stage is 100% even when empty."""

from dataclasses import replace
from datetime import timedelta

from dashboard_service.domain.metrics import campaign_metrics
from dashboard_service.domain.models import (
    EntryStats,
    FunnelCounts,
    Measures,
    MetricsRequest,
    RawAggregates,
)
from tests.unit.test_dashboard_metrics_domain import (
    A1,
    A2,
    CAMPAIGN,
    NOW,
    FakeCatalog,
    FakeStore,
    run,
)


def test_revenue_is_rounded_to_cents_in_totals_and_activities() -> None:
    raw = RawAggregates(
        totals=Measures(purchases=2, revenue=10.126), by_activity={A1.id: Measures(revenue=3.454)}
    )
    _, result = run(MetricsRequest(CAMPAIGN.id), FakeStore(raw))
    assert result.totals.revenue == 10.13
    assert [a.revenue for a in result.activities] == [3.45, 0.0]


def test_each_activity_gets_its_own_entries_and_sell_out_time() -> None:
    opens = CAMPAIGN.starts_at + timedelta(minutes=10)  # type: ignore[operator]
    timed = replace(A1, starts_at=opens)
    campaign = replace(CAMPAIGN, activities=(timed, A2))
    sold_out_at = opens + timedelta(minutes=5)
    raw = RawAggregates(entries_by_activity={A1.id: EntryStats(100, int(sold_out_at.timestamp()))})
    result = campaign_metrics(
        MetricsRequest(campaign.id), FakeCatalog({campaign.id: campaign}), FakeStore(raw), NOW
    )
    a1, a2 = result.activities
    assert (a1.confirmed_entries, a1.sold_out, a1.last_entry_at) == (100, True, sold_out_at)
    assert (a1.starts_at, a1.time_to_sell_out_seconds) == (opens, 300)  # from its own start
    assert (a2.confirmed_entries, a2.last_entry_at, a2.starts_at) == (0, None, None)
    # The campaign's only capped activity sold out: counted from the campaign's start.
    assert result.totals.time_to_sell_out_seconds == 900
    assert result.totals.confirmed_entries == 100


def test_an_empty_funnel_starts_at_one_hundred_percent() -> None:
    _, result = run(MetricsRequest(CAMPAIGN.id), FakeStore(RawAggregates(funnel=FunnelCounts())))
    first, *rest = result.funnel
    assert (first.visitors, first.rate_from_previous, first.rate_from_first) == (0, 1.0, 1.0)
    assert all(stage.rate_from_first == 0.0 for stage in rest)


def test_the_default_window_ends_now() -> None:
    _, result = run(MetricsRequest(CAMPAIGN.id))
    assert result.range.end == NOW
