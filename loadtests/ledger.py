"""What the load generators saw, one JSON line per fact, one file per Locust process.

The checker compares it with what Pulse stored: every event answered 202, every entry answer
and every 5xx. Files are opened lazily per process id, because `locust --processes` forks.
"""

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

LEDGER_GLOB = "ledger-*.jsonl"


class LedgerWriter:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._pid = 0
        self._file: IO[str] | None = None

    def _out(self) -> IO[str]:
        if self._file is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._file = (self._directory / f"ledger-{self._pid}.jsonl").open("a", buffering=1)
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, kind: str, **fields: Any) -> None:
        self._out().write(json.dumps({"k": kind, "t": time.time(), **fields}) + "\n")

    def events_accepted(self, event_ids: Iterable[str]) -> None:
        self.write("events", ids=list(event_ids))

    def entry(
        self,
        *,
        activity: str,
        user: str,
        key: str,
        entry_id: str | None,
        status: str,
        reason: str | None,
    ) -> None:
        """One attempt's final answer (`unresolved` when it never got one)."""
        self.write(
            "entry",
            activity=activity,
            user=user,
            key=key,
            entry_id=entry_id,
            status=status,
            reason=reason,
        )

    def entry_started(self, *, activity: str, user: str, key: str) -> None:
        """Written before the first request, so an attempt the run cut off still shows."""
        self.write("start", activity=activity, user=user, key=key)

    def entry_admitted(self, *, activity: str, user: str, key: str, entry_id: str) -> None:
        """The POST's 202: the entry exists from here on, decided or not."""
        self.write("admitted", activity=activity, user=user, key=key, entry_id=entry_id)

    def server_error(self, name: str, status: int) -> None:
        self.write("5xx", name=name, status=status)


@dataclass(frozen=True)
class EntryAttempt:
    activity: str
    user: str
    key: str
    entry_id: str | None
    # confirmed | rejected: the final answer; unresolved: 202 `reserved` never decided;
    # shed: refused with 429/503 + Retry-After on every try (nothing accepted, no loss);
    # failed: any other refusal or a transport error on every try
    status: str
    reason: str | None


@dataclass
class Ledger:
    accepted_events: list[str] = field(default_factory=list)
    last_accepted_at: float = 0.0
    entries: list[EntryAttempt] = field(default_factory=list)
    started: set[tuple[str, str, str]] = field(default_factory=set)  # (activity, user, key)
    admitted: dict[tuple[str, str, str], str] = field(default_factory=dict)  # -> entry id
    server_errors: dict[str, int] = field(default_factory=dict)


def read_ledger(directory: Path) -> Ledger:
    ledger = Ledger()
    for path in sorted(directory.glob(LEDGER_GLOB)):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            fact = json.loads(line)
            if fact["k"] == "events":
                ledger.accepted_events.extend(fact["ids"])
                ledger.last_accepted_at = max(ledger.last_accepted_at, fact["t"])
            elif fact["k"] == "entry":
                fields = {k: fact[k] for k in ("activity", "user", "key", "entry_id", "status")}
                ledger.entries.append(EntryAttempt(**fields, reason=fact.get("reason")))
            elif fact["k"] == "start":
                ledger.started.add((fact["activity"], fact["user"], fact["key"]))
            elif fact["k"] == "admitted":
                ledger.admitted[(fact["activity"], fact["user"], fact["key"])] = fact["entry_id"]
            elif fact["k"] == "5xx":
                name = f"{fact['name']} {fact['status']}"
                ledger.server_errors[name] = ledger.server_errors.get(name, 0) + 1
    return ledger
