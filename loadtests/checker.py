"""The verdict of a run: what the shoppers were told against what Pulse stored.

Jepsen "set" style: every event answered 202 is stored exactly once, in the database and in
the analytics index; no activity has more confirmed entries than its capacity, and exactly its
capacity when demand exceeded it; no user holds more than the per-user limit; every entry the
shopper was told `confirmed` is confirmed in the database, none told `rejected` is; every
attempt got a final answer; no 5xx. Pure functions over collected data, so a test can doctor
the data and watch each check fail.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from loadtests.ledger import EntryAttempt, Ledger
from loadtests.plan import ActivityPlan

MAX_LISTED = 5  # examples shown per failed check
FINAL = ("confirmed", "rejected")


@dataclass(frozen=True)
class ConfirmedEntry:
    activity: str
    user: str
    entry_id: str


@dataclass(frozen=True)
class Stored:
    """What Pulse holds after the run (see loadtests/stored.py)."""

    database_events: dict[str, int]  # event id -> rows (client events of the run's site)
    index_events: dict[str, int]  # event id -> documents
    confirmed: list[ConfirmedEntry]
    entry_status: dict[str, str]  # entry id -> status of its row (reserved rows are undecided)
    drain_s: float | None  # last 202 -> every accepted event queryable (None: never)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, float | int | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def add(self, name: str, failures: list[str], ok: str) -> None:
        shown = "; ".join(failures[:MAX_LISTED])
        more = f" (and {len(failures) - MAX_LISTED} more)" if len(failures) > MAX_LISTED else ""
        self.checks.append(Check(name, not failures, shown + more if failures else ok))


def judge(activities: list[ActivityPlan], ledger: Ledger, stored: Stored) -> Verdict:
    verdict = Verdict()
    _capacity(verdict, activities, ledger.entries, stored.confirmed)
    _per_user(verdict, activities, stored.confirmed)
    _answers(verdict, ledger.entries, stored)
    _finished(verdict, ledger, stored)
    _events(verdict, "database", ledger.accepted_events, stored.database_events)
    _events(verdict, "index", ledger.accepted_events, stored.index_events)
    errors = [f"{n}: {c}" for n, c in sorted(ledger.server_errors.items())]
    verdict.add("no 5xx", errors, "no response was a 5xx")
    verdict.figures.update(
        {
            "events_accepted": len(ledger.accepted_events),
            "entry_attempts": len(ledger.entries),
            "confirmed": len(stored.confirmed),
            "drain_s": stored.drain_s,
            "server_errors": sum(ledger.server_errors.values()),
        }
    )
    return verdict


def demand(activity: ActivityPlan, attempts: Iterable[EntryAttempt]) -> int:
    """Entries the answered attempts asked for: per user, at most the per-user limit."""
    keys: dict[str, set[str]] = {}
    for a in attempts:
        if a.activity == activity.id and a.status in ("confirmed", "rejected"):
            keys.setdefault(a.user, set()).add(a.key)
    return sum(min(len(k), activity.per_user_limit) for k in keys.values())


def _capacity(
    verdict: Verdict,
    activities: list[ActivityPlan],
    attempts: list[EntryAttempt],
    confirmed: list[ConfirmedEntry],
) -> None:
    counts = Counter(c.activity for c in confirmed)
    over, short = [], []
    for activity in activities:
        got, wanted = counts[activity.id], demand(activity, attempts)
        verdict.figures[f"confirmed[{activity.name}]"] = got
        verdict.figures[f"demand[{activity.name}]"] = wanted
        if got > activity.capacity:
            over.append(f"{activity.name}: {got} confirmed > capacity {activity.capacity}")
        elif wanted >= activity.capacity and got != activity.capacity:
            short.append(
                f"{activity.name}: {got} confirmed, capacity {activity.capacity}, demand {wanted}"
            )
    verdict.add("no over-booking", over, "confirmed <= capacity for every activity")
    verdict.add("sold out when demand exceeded capacity", short, "every such activity is full")


def _per_user(
    verdict: Verdict, activities: list[ActivityPlan], confirmed: list[ConfirmedEntry]
) -> None:
    limits = {a.id: (a.name, a.per_user_limit) for a in activities}
    held = Counter((c.activity, c.user) for c in confirmed)
    failures = []
    for (activity, user), count in sorted(held.items()):
        name, limit = limits.get(activity, (activity, 0))
        if count > limit:
            failures.append(f"{name}: user {user} holds {count} > limit {limit}")
    verdict.add("per-user limit", failures, "no user holds more than the per-user limit")


def _answers(verdict: Verdict, attempts: list[EntryAttempt], found: Stored) -> None:
    stored = {c.entry_id for c in found.confirmed}
    lost = [
        f"entry {a.entry_id} (user {a.user}) told confirmed, not confirmed in the database"
        for a in attempts
        if a.status == "confirmed" and a.entry_id not in stored
    ]
    verdict.add("every confirmed answer is stored", lost, "all confirmed answers stored")
    wrong = [
        f"entry {a.entry_id} (user {a.user}) told rejected ({a.reason}), confirmed in the database"
        for a in attempts
        if a.status == "rejected" and a.entry_id in stored
    ]
    verdict.add("no rejected answer is confirmed", wrong, "no rejected answer was confirmed")
    # A shopper whose page stopped polling while still `reserved` was told nothing final; the
    # entry must still be decided in the database (Pulse decides every admitted entry).
    late = [a for a in attempts if a.status == "unresolved"]
    undecided = [a for a in late if found.entry_status.get(a.entry_id or "") not in FINAL]
    open_ = [
        f"user {a.user} key {a.key}: {a.status} ({a.reason})"
        for a in attempts
        if a.status == "failed"
    ] + [f"entry {a.entry_id} (user {a.user}) never decided" for a in undecided]
    verdict.add("every attempt decided", open_, "every answered attempt was decided")
    verdict.figures["entry_decided_after_page_gave_up"] = len(late) - len(undecided)
    verdict.figures["entry_attempts_shed"] = sum(1 for a in attempts if a.status == "shed")


def _finished(verdict: Verdict, ledger: Ledger, found: Stored) -> None:
    """Every attempt a shopper started was answered before the run ended. One still polling a
    `reserved` entry at the end was answered; its entry must be decided in the database."""
    ended = {(a.activity, a.user, a.key) for a in ledger.entries}
    cut = sorted(ledger.started - ended)
    polling = [c for c in cut if c in ledger.admitted]
    undecided = [c for c in polling if found.entry_status.get(ledger.admitted[c]) not in FINAL]
    unanswered = [c for c in cut if c not in ledger.admitted]
    verdict.figures["entry_attempts_unanswered_at_end"] = len(unanswered)
    verdict.figures["entry_polling_at_end"] = len(polling)
    failures = [f"user {u} key {k}: no answer when the run ended" for _, u, k in unanswered]
    failures += [
        f"entry {ledger.admitted[c]} (user {c[1]}) still undecided after the run" for c in undecided
    ]
    verdict.add("every attempt finished", failures, "every started attempt was answered")


def _events(verdict: Verdict, where: str, accepted: list[str], stored: dict[str, int]) -> None:
    sent = Counter(accepted)
    missing = [e for e in sent if stored.get(e, 0) == 0]
    doubled = [f"{e} x{stored[e]}" for e in sent if stored.get(e, 0) > 1]
    failures = [f"missing {e}" for e in missing] + [f"duplicate {d}" for d in doubled]
    verdict.figures[f"missing_in_{where}"] = len(missing)
    verdict.figures[f"duplicates_in_{where}"] = len(doubled)
    verdict.add(
        f"events exactly once in the {where}",
        failures,
        f"all {len(sent)} accepted events stored once",
    )


def render(verdict: Verdict) -> str:
    lines = [f"checker: {'PASS' if verdict.passed else 'FAIL'}"]
    for check in verdict.checks:
        lines.append(f"  [{'ok' if check.passed else 'FAIL'}] {check.name}: {check.detail}")
    for name, value in verdict.figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"  {name} = {shown}")
    return "\n".join(lines)
