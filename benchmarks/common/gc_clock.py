"""The cyclic garbage collector's time in a benchmark process, from `gc.callbacks`."""

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager


class GcClock:
    """The cyclic collector's time, from `gc.callbacks`."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total_s += time.perf_counter() - self._started


@contextmanager
def gc_clock() -> Iterator[GcClock]:
    """A GcClock registered for the block."""
    clock = GcClock()
    gc.callbacks.append(clock)
    try:
        yield clock
    finally:
        gc.callbacks.remove(clock)
