"""Failed sign-ins per client address: a guessing guard in front of the dashboard token check.

Counted in this process only (the dashboard runs one or two replicas; a token guesser would
need many addresses and many replicas to gain much). Successful sign-ins cost nothing.
"""

from collections import deque
from datetime import datetime, timedelta
from typing import Final

from dashboard_service.errors import TooManySignIns

_MAX_ADDRESSES: Final = 10_000


class SignInGuard:
    def __init__(self, max_failures: int, window: timedelta) -> None:
        self._max = max_failures
        self._window = window
        self._failures: dict[str, deque[datetime]] = {}

    def check(self, address: str, now: datetime) -> None:
        """Refuse an address that failed `max_failures` times within the window."""
        recent = self._recent(address, now)
        if len(recent) >= self._max:
            retry = (recent[0] + self._window - now).total_seconds()
            raise TooManySignIns(
                "too many failed sign-ins from this address; retry later",
                headers={"Retry-After": str(max(1, int(retry) + 1))},
            )

    def failed(self, address: str, now: datetime) -> None:
        if address not in self._failures and len(self._failures) >= _MAX_ADDRESSES:
            self._forget_stale(now)
        self._recent(address, now).append(now)

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(address, deque(maxlen=self._max))
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def _forget_stale(self, now: datetime) -> None:
        cutoff = now - self._window
        self._failures = {a: t for a, t in self._failures.items() if t and t[-1] > cutoff}
