"""How far two sequences agree: the common head of two texts, sources or
line lists, found by halving (slices compare at C speed; a Python step per
item costs a step per line of x86.c)."""

from __future__ import annotations

from collections.abc import Sequence


def common_prefix(a: Sequence, b: Sequence, most: int | None = None) -> int:
    """How many items ``a`` and ``b`` begin with alike (at most ``most``)."""
    lo, hi = 0, min(len(a), len(b)) if most is None else most
    while lo < hi:  # a[:lo] == b[:lo]; the prefix is no longer than hi
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
