"""The rollups' three tiers (minute, 10 minutes, hour): which rows cover a view, and that a
view whose edges fall on hour, 10-minute or minute boundaries counts exactly what the raw
events hold (the exact SQL store, every batch replayed), on SQLite and on Postgres (GROUPING
SETS there).

Traffic is dense around the edges (several events a minute over three hours), so a row left
out or read twice at an edge changes the counts.
"""

import random
from pathlib import Path

import pytest

from dashboard_service.domain.models import MetricsQuery
from rollups.batch import HOUR, MINUTE, TEN_MINUTES
from rollups.reader import pieces
from tests.contract.test_analytics_store_contract import BASE, CAMPAIGN, random_rows
from tests.contract.test_rollups_agree import check_agreement

H, T, M = HOUR, TEN_MINUTES, MINUTE

PIECES = [
    # (start, end, interval) -> the rows read, coarsest in the middle
    ((0, 2 * H, H), [(H, 0, 2 * H)]),
    ((0, 2 * H, 86400), [(H, 0, 2 * H)]),
    ((20 * M, 2 * H, H), [(T, 20 * M, H), (H, H, 2 * H)]),
    ((23 * M, 2 * H + 7 * M, H), [
        (M, 23 * M, 30 * M), (T, 30 * M, H), (H, H, 2 * H), (M, 2 * H, 2 * H + 7 * M)
    ]),
    ((9 * M, 3 * H + 51 * M, H), [
        (M, 9 * M, 10 * M), (T, 10 * M, H), (H, H, 3 * H), (T, 3 * H, 3 * H + 50 * M),
        (M, 3 * H + 50 * M, 3 * H + 51 * M),
    ]),
    ((12 * M, 48 * M, H), [(M, 12 * M, 20 * M), (T, 20 * M, 40 * M), (M, 40 * M, 48 * M)]),
    ((12 * M, 18 * M, H), [(M, 12 * M, 18 * M)]),
    ((23 * M, 2 * H + 7 * M, M), [(M, 23 * M, 2 * H + 7 * M)]),  # a minute timeline
    ((23 * M, 2 * H + 7 * M, T), [  # a 10-minute timeline: no hour rows
        (M, 23 * M, 30 * M), (T, 30 * M, 2 * H), (M, 2 * H, 2 * H + 7 * M)
    ]),
    ((5 * M, 5 * M, H), []),
]  # fmt: skip


@pytest.mark.parametrize(("view", "expected"), PIECES)
def test_pieces_cover_the_view_with_the_fewest_rows(
    view: tuple[int, int, int], expected: list[tuple[int, int, int]]
) -> None:
    assert pieces(*view) == expected


@pytest.mark.parametrize("seed", range(5))
def test_pieces_cover_exactly_and_read_few_edge_rows(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        start = rng.randrange(0, 3 * 86400, MINUTE)
        end = start + rng.randrange(0, 3 * 86400, MINUTE)
        parts = pieces(start, end, HOUR)
        assert [lo for _, lo, _ in parts[1:]] == [hi for _, _, hi in parts[:-1]]
        assert (parts[0][1], parts[-1][2]) == (start, end) if parts else start == end
        for span, lo, hi in parts:
            assert lo % span == 0 and hi % span == 0 and lo < hi
        minutes = sum((hi - lo) // MINUTE for span, lo, hi in parts if span == MINUTE)
        tens = sum((hi - lo) // TEN_MINUTES for span, lo, hi in parts if span == TEN_MINUTES)
        assert minutes <= 18 and tens <= 10, (start, end, parts)


VIEWS = [
    MetricsQuery(CAMPAIGN, BASE, BASE + 3 * H, H, previous=(BASE - 3 * H, BASE)),  # hours
    MetricsQuery(CAMPAIGN, BASE + 20 * M, BASE + 2 * H + 40 * M, H),  # 10-minute edges
    MetricsQuery(CAMPAIGN, BASE + 23 * M, BASE + 2 * H + 47 * M, H),  # minute edges
    MetricsQuery(  # minute edges, the previous period with its own minute edges
        CAMPAIGN, BASE + H + 9 * M, BASE + 3 * H + M, H, previous=(BASE - 52 * M, BASE + H + 9 * M)
    ),
    MetricsQuery(CAMPAIGN, BASE + 12 * M, BASE + 48 * M, H),  # within an hour: no hour rows
    MetricsQuery(CAMPAIGN, BASE + 31 * M, BASE + 39 * M, H),  # within 10 minutes
    MetricsQuery(CAMPAIGN, BASE - 7 * M, BASE + 2 * H + 3 * M, M),  # a minute timeline
    MetricsQuery(CAMPAIGN, BASE - 7 * M, BASE + 3 * H + 7 * M, 86400),  # a day timeline
]  # fmt: skip


def test_views_on_every_boundary_count_what_the_raw_events_hold(
    database_url: str, tmp_path: Path
) -> None:
    # about 3.4 events of the campaign a minute, from 10 minutes before BASE to 10 after BASE + 3 h
    rows = random_rows(seed=15, n=900, within=(-T, 3 * H + T))
    check_agreement(database_url, tmp_path, rows, VIEWS)
