"""Keep Python's cyclic garbage collector off a long-lived server's request path.

Two costs, measured on entry_service (docs/benchmarks.md, "Issue 13: the entry floors"):
- every full collection walks again the objects built at startup (modules, the app and its
  routes, pydantic's validators, the opened ports), which live as long as the process:
  `gc.freeze()` moves everything alive into the permanent generation, which collections skip;
- with the default young-generation threshold (700 container allocations) a collection runs
  every few requests and mostly promotes the objects of the requests still in flight, which
  die soon after in an older generation; a threshold of `YOUNG_THRESHOLD` lets them die young.
Together these took the collector from about a quarter of an entry request's CPU to under 1%.

On exit both are undone (`gc.unfreeze()`, the previous thresholds), so a process that builds
and stops many apps (the tests) leaks nothing. No `gc.collect()` first: it would cost every
startup a full walk, and what startup left as garbage is collected again once unfrozen.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

YOUNG_THRESHOLD: Final = 10_000


@contextmanager
def serving_gc(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
