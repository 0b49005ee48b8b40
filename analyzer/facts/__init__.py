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
- phi nodes where a role local is reassigned differently on two branches,
- exits: every ``return`` with its path condition.

Nothing here resolves across functions; ``graph`` and ``resolve`` do that.

The records are in ``records``; ``collection.collect`` declares the
files' functions and ``execute``s each body with an ``Executor``, whose parts
each hold one room: ``state`` (the branch state), ``statements``,
``assignments``, ``expressions``, ``conditions``, ``paths`` and ``sites``;
``loops`` reads the filtering iterator macros and ``syntax`` holds the text
and node helpers.
"""

from __future__ import annotations

from analyzer.facts.collection import collect, execute
from analyzer.facts.executor import Executor
from analyzer.facts.loops import loop_filters
from analyzer.facts.records import CallSite, Compare, Exit, Facts, FuncInfo, Param, Phi, Store
from analyzer.facts.syntax import normalize_expr, parse_int, role_type_of

__all__ = [
    "CallSite",
    "Compare",
    "Executor",
    "Exit",
    "Facts",
    "FuncInfo",
    "Param",
    "Phi",
    "Store",
    "collect",
    "collect_incremental",
    "execute",
    "loop_filters",
    "normalize_expr",
    "parse_int",
    "role_type_of",
]


def __getattr__(name: str):
    # collecting again after an edit lives with the rest of the incremental
    # machinery, which builds on this package: imported when asked for
    if name == "collect_incremental":
        from analyzer.incremental import collect_incremental

        return collect_incremental
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
