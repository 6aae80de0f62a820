"""The load-test checker fails on doctored data: an over-booked activity, a lost or doubled
event, a user over the limit, an answer the database contradicts, a 5xx, an open attempt."""

import dataclasses
from pathlib import Path

import pytest

from loadtests import knee
from loadtests.checker import ConfirmedEntry, Stored, Verdict, judge
from loadtests.ledger import EntryAttempt, Ledger, LedgerWriter, read_ledger
from loadtests.plan import ActivityPlan

OPENING = ActivityPlan("a-1", "opening", capacity=2, per_user_limit=1, attempts_per_shopper=1)
TWICE = ActivityPlan("a-2", "twice", capacity=10, per_user_limit=2, attempts_per_shopper=3)
ACTIVITIES = [OPENING, TWICE]


def _attempt(activity: str, user: str, key: str, entry: str, status: str) -> EntryAttempt:
    reason = "sold_out" if status == "rejected" else None
    return EntryAttempt(activity, user, key, entry, status, reason)


def _run() -> tuple[Ledger, Stored]:
    """A clean run: 3 shoppers for 2 seats, one shopper twice at `twice`, 3 events."""
    ledger = Ledger(
        accepted_events=["e1", "e2", "e3"],
        last_accepted_at=100.0,
        entries=[
            _attempt("a-1", "u1", "k1", "n1", "confirmed"),
            _attempt("a-1", "u2", "k2", "n2", "confirmed"),
            _attempt("a-1", "u3", "k3", "n3", "rejected"),
            _attempt("a-2", "u4", "k4", "n4", "confirmed"),
            _attempt("a-2", "u4", "k5", "n5", "confirmed"),
        ],
    )
    stored = Stored(
        database_events={"e1": 1, "e2": 1, "e3": 1},
        index_events={"e1": 1, "e2": 1, "e3": 1},
        confirmed=[
            ConfirmedEntry("a-1", "u1", "n1"),
            ConfirmedEntry("a-1", "u2", "n2"),
            ConfirmedEntry("a-2", "u4", "n4"),
            ConfirmedEntry("a-2", "u4", "n5"),
        ],
        entry_status={"n1": "confirmed", "n2": "confirmed", "n4": "confirmed", "n5": "confirmed"},
        drain_s=0.5,
    )
    ledger.started = {(a.activity, a.user, a.key) for a in ledger.entries}
    return ledger, stored


def _failed(verdict: Verdict) -> set[str]:
    return {c.name for c in verdict.checks if not c.passed}


def test_a_clean_run_passes() -> None:
    ledger, stored = _run()
    verdict = judge(ACTIVITIES, ledger, stored)
    assert verdict.passed, verdict.checks
    assert verdict.figures["demand[opening]"] == 3
    assert verdict.figures["confirmed[opening]"] == 2


def test_an_over_booked_activity_fails() -> None:
    ledger, stored = _run()
    extra = ConfirmedEntry("a-1", "u3", "n3")
    verdict = judge(
        ACTIVITIES, ledger, dataclasses.replace(stored, confirmed=[*stored.confirmed, extra])
    )
    assert "no over-booking" in _failed(verdict)
    assert "no rejected answer is confirmed" in _failed(verdict)  # u3 was told sold_out


def test_an_activity_left_short_while_demand_exceeded_capacity_fails() -> None:
    ledger, stored = _run()
    short = [c for c in stored.confirmed if c.user != "u2"]
    verdict = judge(ACTIVITIES, ledger, dataclasses.replace(stored, confirmed=short))
    assert _failed(verdict) == {
        "sold out when demand exceeded capacity",
        "every confirmed answer is stored",  # u2 was told confirmed
    }


def test_a_user_over_the_per_user_limit_fails() -> None:
    ledger, stored = _run()
    third = ConfirmedEntry("a-2", "u4", "n6")
    verdict = judge(
        ACTIVITIES, ledger, dataclasses.replace(stored, confirmed=[*stored.confirmed, third])
    )
    assert _failed(verdict) == {"per-user limit"}


@pytest.mark.parametrize("where", ["database_events", "index_events"])
def test_a_missing_event_fails(where: str) -> None:
    ledger, stored = _run()
    doctored = {k: v for k, v in getattr(stored, where).items() if k != "e2"}
    verdict = judge(ACTIVITIES, ledger, dataclasses.replace(stored, **{where: doctored}))
    place = "database" if where == "database_events" else "index"
    assert _failed(verdict) == {f"events exactly once in the {place}"}
    assert verdict.figures[f"missing_in_{place}"] == 1


@pytest.mark.parametrize("where", ["database_events", "index_events"])
def test_a_duplicate_event_fails(where: str) -> None:
    ledger, stored = _run()
    doctored = {**getattr(stored, where), "e3": 2}
    verdict = judge(ACTIVITIES, ledger, dataclasses.replace(stored, **{where: doctored}))
    place = "database" if where == "database_events" else "index"
    assert _failed(verdict) == {f"events exactly once in the {place}"}
    assert verdict.figures[f"duplicates_in_{place}"] == 1


def test_an_attempt_cut_off_by_the_end_of_the_run_fails() -> None:
    ledger, stored = _run()
    ledger.started.add(("a-1", "u7", "k7"))  # started, never answered before the run ended
    verdict = judge(ACTIVITIES, ledger, stored)
    assert _failed(verdict) == {"every attempt finished"}
    assert verdict.figures["entry_attempts_unanswered_at_end"] == 1


def test_an_attempt_still_polling_at_the_end_needs_a_decided_entry() -> None:
    ledger, stored = _run()
    ledger.started.add(("a-2", "u6", "k6"))
    ledger.admitted[("a-2", "u6", "k6")] = "n6"  # answered `reserved`, polling when cut off
    stored.entry_status["n6"] = "reserved"
    assert _failed(judge(ACTIVITIES, ledger, stored)) == {"every attempt finished"}
    stored.entry_status["n6"] = "rejected"
    verdict = judge(ACTIVITIES, ledger, stored)
    assert verdict.passed and verdict.figures["entry_polling_at_end"] == 1


def test_a_5xx_fails() -> None:
    ledger, stored = _run()
    ledger.server_errors = {"entry: POST 500": 1}
    assert _failed(judge(ACTIVITIES, ledger, stored)) == {"no 5xx"}


def test_an_attempt_never_decided_fails_but_a_shed_one_does_not() -> None:
    ledger, stored = _run()
    ledger.entries.append(_attempt("a-2", "u9", "k9", "n9", "shed"))
    assert judge(ACTIVITIES, ledger, stored).passed
    # The page gave up polling while `reserved`; the database decided it later: fine.
    ledger.entries.append(_attempt("a-2", "u8", "k8", "n8", "unresolved"))
    stored.entry_status["n8"] = "rejected"
    verdict = judge(ACTIVITIES, ledger, stored)
    assert verdict.passed and verdict.figures["entry_decided_after_page_gave_up"] == 1
    stored.entry_status["n8"] = "reserved"  # never decided
    assert _failed(judge(ACTIVITIES, ledger, stored)) == {"every attempt decided"}
    ledger.entries.append(_attempt("a-2", "u7", "k7", "n7", "failed"))
    stored.entry_status["n8"] = "rejected"
    assert _failed(judge(ACTIVITIES, ledger, stored)) == {"every attempt decided"}


def test_the_ledger_reads_back_what_every_process_wrote(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path)
    writer.events_accepted(["e1", "e2"])
    writer.entry_started(activity="a", user="u", key="k")
    writer.entry_admitted(activity="a", user="u", key="k", entry_id="n")
    writer.entry(activity="a", user="u", key="k", entry_id="n", status="confirmed", reason=None)
    writer.server_error("events: POST batch", 502)
    writer.close()
    (tmp_path / "ledger-999999.jsonl").write_text('{"k": "events", "t": 5.0, "ids": ["e3"]}\n')
    ledger = read_ledger(tmp_path)
    assert sorted(ledger.accepted_events) == ["e1", "e2", "e3"]
    assert ledger.entries == [EntryAttempt("a", "u", "k", "n", "confirmed", None)]
    assert ledger.started == {("a", "u", "k")}
    assert ledger.admitted == {("a", "u", "k"): "n"}
    assert ledger.server_errors == {"events: POST batch 502": 1}
    assert ledger.last_accepted_at > 5.0


def test_the_knee_is_the_best_step_before_the_first_broken_one() -> None:
    def snap(at: float, requests: int, failures: int, slow: int) -> knee.Snapshot:
        return knee.Snapshot(at, requests, failures, {50: requests - slow, 3000: slow})

    s1 = knee.step(10, snap(0, 0, 0, 0), snap(10, 100, 0, 0), p95_limit_ms=1500, error_limit_pct=1)
    s2 = knee.step(
        20, snap(10, 100, 0, 0), snap(20, 300, 0, 5), p95_limit_ms=1500, error_limit_pct=1
    )
    s3 = knee.step(
        30, snap(20, 300, 0, 5), snap(30, 400, 0, 50), p95_limit_ms=1500, error_limit_pct=1
    )
    assert (s1.ok_per_s, s2.ok_per_s, s3.ok_per_s) == (10.0, 20.0, 10.0)
    assert (s2.p95_ms, s3.p95_ms) == (50.0, 3000.0)  # each step judged on its own requests
    assert [s.broken for s in (s1, s2, s3)] == [False, False, True]
    assert knee.knee([s1, s2, s3]) == s2
    assert knee.knee([s3]) is None


def test_the_ramp_is_past_the_knee_when_two_steps_fall_below_the_best() -> None:
    def at(ok: float) -> knee.Step:
        return knee.Step(10, 10.0, ok, ok, 2000.0, 0.0, False)

    assert not knee.past_knee([at(50), at(60)])
    assert not knee.past_knee([at(50), at(60), at(45)])  # one step down: noise
    assert knee.past_knee([at(50), at(60), at(45), at(40)])
    assert knee.knee([at(50), at(60), at(45), at(40)]) == at(60)
