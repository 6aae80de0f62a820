"""Entries against capacity, the funnel, and signed sessions: pure rules, no I/O."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from dashboard_service.domain.capacity import activity_capacity, campaign_capacity, fill_rate
from dashboard_service.domain.metrics import funnel
from dashboard_service.domain.models import ActivityInfo, CampaignInfo, EntryStats, FunnelCounts
from dashboard_service.domain.sessions import issue_session, session_is_valid, sign_in
from servicekit.errors import Unauthorized

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
TS = int(T0.timestamp())


def activity(capacity: int | None, starts_at: datetime | None = None) -> ActivityInfo:
    return ActivityInfo(uuid.uuid4(), "a", "fcfs", capacity, T0, starts_at)


def campaign(starts_at: datetime | None, *activities: ActivityInfo) -> CampaignInfo:
    return CampaignInfo(uuid.uuid4(), "c", uuid.uuid4(), starts_at, None, "active", activities)


@pytest.mark.parametrize(
    ("entries", "capacity", "rate"),
    [(0, 10, 0.0), (1, 3, 0.3333), (10, 10, 1.0), (3, None, None), (0, 0, 1.0)],
)
def test_fill_rate(entries: int, capacity: int | None, rate: float | None) -> None:
    assert fill_rate(entries, capacity) == rate


def test_time_to_sell_out_starts_at_the_activity_else_the_campaign() -> None:
    own = activity(2, starts_at=T0 - timedelta(minutes=10))
    inherited = activity(2)
    c = campaign(T0 - timedelta(hours=1), own, inherited)
    sold = EntryStats(entries=2, last_entry_ts=TS)
    assert activity_capacity(own, c, sold).time_to_sell_out_seconds == 600
    assert activity_capacity(inherited, c, sold).time_to_sell_out_seconds == 3600
    no_start = activity_capacity(inherited, campaign(None, inherited), sold)
    assert (no_start.sold_out, no_start.time_to_sell_out_seconds) == (True, None)


def test_not_sold_out_has_no_time_to_sell_out() -> None:
    a = activity(3)
    figures = activity_capacity(a, campaign(T0, a), EntryStats(entries=2, last_entry_ts=TS))
    assert (figures.sold_out, figures.time_to_sell_out_seconds, figures.fill_rate) == (
        False,
        None,
        0.6667,
    )
    assert figures.last_entry_at == T0
    empty = activity_capacity(a, campaign(T0, a), None)
    assert (empty.confirmed_entries, empty.last_entry_at, empty.fill_rate) == (0, None, 0.0)


def test_campaign_capacity_adds_capped_activities_and_sells_out_with_the_last() -> None:
    early, late, unlimited = activity(2), activity(1), activity(None)
    c = campaign(T0 - timedelta(hours=2), early, late, unlimited)
    figures = [
        (early, activity_capacity(early, c, EntryStats(2, TS - 3600))),
        (late, activity_capacity(late, c, EntryStats(1, TS))),
        (unlimited, activity_capacity(unlimited, c, EntryStats(5, TS + 60))),
    ]
    total = campaign_capacity(c, figures)
    assert (total.capacity, total.confirmed_entries, total.fill_rate) == (3, 8, 1.0)
    assert total.sold_out and total.time_to_sell_out_seconds == 7200  # the later capped one
    assert total.last_entry_at == T0 + timedelta(minutes=1)


def test_campaign_without_capped_activities_has_no_capacity() -> None:
    a = activity(None)
    c = campaign(T0, a)
    total = campaign_capacity(c, [(a, activity_capacity(a, c, EntryStats(4, TS)))])
    assert (total.capacity, total.fill_rate, total.sold_out) == (None, None, False)


def test_campaign_start_falls_back_to_the_earliest_capped_activity() -> None:
    a, b = activity(1, T0 - timedelta(minutes=5)), activity(1, T0 - timedelta(minutes=30))
    c = campaign(None, a, b)
    figures = [(x, activity_capacity(x, c, EntryStats(1, TS))) for x in (a, b)]
    assert campaign_capacity(c, figures).time_to_sell_out_seconds == 1800


def test_funnel_rates_against_the_stage_before_and_the_first() -> None:
    stages = funnel(FunnelCounts(visited=8, clicked=4, converted=1))
    assert [(s.stage, s.visitors) for s in stages] == [
        ("visited", 8),
        ("clicked", 4),
        ("entered_or_purchased", 1),
    ]
    assert [(s.rate_from_previous, s.rate_from_first) for s in stages] == [
        (1.0, 1.0),
        (0.5, 0.5),
        (0.25, 0.125),
    ]


def test_funnel_stages_count_their_own_visitors() -> None:
    # More entrants than clickers (entries without a tracked click): shown as it is, not capped.
    assert [s.rate_from_previous for s in funnel(FunnelCounts(10, 2, 3))] == [1.0, 0.2, 1.5]
    empty = funnel(FunnelCounts())
    assert [(s.visitors, s.rate_from_previous) for s in empty] == [(0, 1.0), (0, 0.0), (0, 0.0)]


def test_a_session_is_valid_for_its_token_until_it_expires() -> None:
    value, expires = issue_session("tok", T0, timedelta(hours=1))
    assert expires == T0 + timedelta(hours=1)
    assert "tok" not in value
    assert session_is_valid(value, ["other", "tok"], T0 + timedelta(minutes=59))
    assert not session_is_valid(value, ["tok"], T0 + timedelta(hours=1))
    assert not session_is_valid(value, ["other"], T0)
    assert not session_is_valid(value, [""], T0)


@pytest.mark.parametrize("value", ["", "a.b.c", "²³⁴.n.s", "123", "123.n", "123..s"])
def test_malformed_sessions_are_refused(value: str) -> None:
    assert not session_is_valid(value, ["tok"], T0)


def test_sign_in_refuses_unknown_tokens() -> None:
    with pytest.raises(Unauthorized):
        sign_in("nope", ["tok"], T0, timedelta(hours=1))
    with pytest.raises(Unauthorized):
        sign_in("tök", ["tok"], T0, timedelta(hours=1))  # non-ASCII: refused, not a crash
    value, _ = sign_in("tok", ["tok"], T0, timedelta(hours=1))
    assert session_is_valid(value, ["tok"], T0)
