"""When a failed delivery is tried again: exponential backoff with jitter, for at least a day.

A parameter of the dispatcher, so tests run the whole schedule in milliseconds of fake time.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Delay before attempt n+1 after n failures: min(cap, first * 2**(n-1)), of which a random
    half is jitter (so endpoints that failed together do not all retry together). A delivery is
    given up (`failed`) once an attempt fails `give_up_after` or more after its window began."""

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=2)
    give_up_after: timedelta = timedelta(hours=24)
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, failures: int) -> timedelta:
        full: timedelta = min(self.cap, self.first * (2 ** max(0, failures - 1)))
        return full / 2 + full / 2 * self.jitter()

    def gives_up(self, since_window_start: timedelta) -> bool:
        return since_window_start >= self.give_up_after
