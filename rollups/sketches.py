"""HyperLogLog sketches of visitor keys (Apache DataSketches), as stored in `rollup_sketches`.

lg_k 14 (16,384 registers): relative standard error 1.04 / sqrt(2^14) = 0.81 %, so 1.63 % at two
standard deviations (about 95 %). Small groups stay in the sketch's list/set modes, where the
count is exact but for hash collisions of 26 bits, i.e. exact in practice to tens of thousands.
"""

from collections.abc import Iterable
from typing import Final

from datasketches import hll_sketch, hll_union, tgt_hll_type

LG_K: Final = 14
# What the API states with an approximate figure: two standard errors of lg_k 14.
RELATIVE_ERROR_BOUND: Final = 0.0163
HLL_TYPE: Final = tgt_hll_type.HLL_8  # a byte per register: the fastest to update and merge


def new_sketch() -> hll_sketch:
    return hll_sketch(LG_K, HLL_TYPE)


def sketch_of(keys: Iterable[str]) -> hll_sketch:
    sketch = new_sketch()
    for key in keys:
        sketch.update(key)
    return sketch


def merged(stored: bytes | None, added: hll_sketch | hll_union) -> bytes:
    """The stored sketch with `added`'s visitors (a sketch, or a union that takes the stored
    sketch in), serialised again."""
    if isinstance(added, hll_sketch):
        if stored is None:
            return bytes(added.serialize_compact())
        union = hll_union(LG_K)
        union.update(added)
    else:
        union = added
    if stored is not None:
        union.update(hll_sketch.deserialize(stored))
    return bytes(union.get_result(HLL_TYPE).serialize_compact())


class VisitorUnion:
    """The visitors of many stored sketches: their union's estimate, rounded."""

    def __init__(self) -> None:
        self._union = hll_union(LG_K)
        self._empty = True

    def add(self, stored: bytes) -> None:
        self._union.update(hll_sketch.deserialize(stored))
        self._empty = False

    def estimate(self) -> int:
        return 0 if self._empty else round(self._union.get_estimate())
