"""Trails: the graph nodes a resolved value passed, first to last.

A trail is a rope: cons cells ``(earlier, node)`` and concatenations
``("cat", first, second)``, so extending or joining traces costs one small
tuple, not a copy. ``hop`` extends one by a flow edge (``analyzer.flow``).
"""

from __future__ import annotations


def trail(*nodes, base: tuple = ()) -> tuple:
    """Append graph nodes to a trail: a cons list ``(earlier, node)``, so
    extending a trace costs one small tuple, not a copy."""
    for n in nodes:
        if n is not None:
            base = (base, n)
    return base


def hop(edge, base: tuple = ()) -> tuple:
    """``base`` followed by both ends of a flow edge."""
    return ((base, edge[0]), edge[1])


def trail_cat(a: tuple, b: tuple) -> tuple:
    """``a`` then ``b``, in O(1): a trail is a rope of cons cells
    ``(earlier, node)`` and concatenations ``("cat", first, second)``."""
    if not b:
        return a
    if not a:
        return b
    return ("cat", a, b)


def trail_nodes(t: tuple) -> list:
    """The nodes of a trail, first to last."""
    out = []
    stack = [t]
    while stack:
        x = stack.pop()
        if not x:
            continue
        if len(x) == 3:
            stack.append(x[1])
            stack.append(x[2])
        else:
            out.append(x[1])
            stack.append(x[0])
    out.reverse()
    return out


def trail_last(t: tuple):
    while t and len(t) == 3:
        t = t[2]
    return t[1] if t else None


def one(node) -> tuple:
    """The trail of one node (none when ``node`` is None)."""
    return trail(node)
