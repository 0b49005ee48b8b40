"""Role facts: what each function does with role-typed values.

Each function body is executed symbolically in statement order. Role-typed
locals and parameters (types from the role model) hold a ``Value``: one term
per leaf field. Initializers, copies, loads from struct members of role type
(slots), field writes, whole-word writes, masks, if/else guards, calls to
other functions and returns update those values. What comes out are facts:

- call sites (arguments as values or scalar terms),
- returns of role-returning functions (producers),
- stores of a role into a slot (``sp->role = role``),
- compare sites (``a.word == b.word``, also with a mask),
- phi nodes where a role local is reassigned differently on two branches.

Nothing here resolves across functions; ``graph`` and ``resolve`` do that.

The records are in ``records``; ``collect`` declares the files' functions
and executes their bodies.
"""

from __future__ import annotations

from analyzer.facts.collect import (
    collect,
    collect_incremental,
    loop_filters,
    normalize_expr,
    parse_int,
    role_type_of,
)
from analyzer.facts.records import CallSite, Compare, Facts, FuncInfo, Param, Phi, Store

__all__ = [
    "CallSite",
    "Compare",
    "Facts",
    "FuncInfo",
    "Param",
    "Phi",
    "Store",
    "collect",
    "collect_incremental",
    "loop_filters",
    "normalize_expr",
    "parse_int",
    "role_type_of",
]
