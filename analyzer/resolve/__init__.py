"""Resolve role values across functions into configurations.

A value in a function is made of terms that may read the function's
parameters, the results of calls and loads of slots. Resolving it walks the
role-flow graph backwards (``analyzer.flow``): parameters to the arguments
of each call site (upward, choosing a chain of call sites, ``chains``),
call results to the callee's returns (downward, with the call site's
arguments bound), loads to the stores of the slot that the load can meet
(``loads``, ``containers``). Each way through gives one ``Concrete`` value,
a *configuration*: a field map of resolved terms (``term``), each with the
graph path that carried it (``trails``), and the path condition it holds
under (``conditions``, ``analyzer.states``): the guards the analysis cannot
decide (an ``Ite`` gives one configuration per branch), the conditions of
the returns, stores and call sites on the way, kept symbolic. Object-like
macros of the tree are integers (``constants``); a partial store
(``sp->role.x = v``, ``.base = r``, ``.word &= m``) after a whole one
changes the stored value (``partials``).
"""

from analyzer.resolve.conditions import equal_formula, tested_fields, tested_refs
from analyzer.resolve.configs import (
    BEYOND_LIMITS,
    DROPPED,
    MAX_RESOLVE_DEPTH,
    STORE,
    Concrete,
    Ctx,
    RTerm,
    traced,
    values_of,
)
from analyzer.resolve.deps import CONTEXT
from analyzer.resolve.partials import store_via
from analyzer.resolve.resolver import Resolver
from analyzer.resolve.trails import trail, trail_cat, trail_last, trail_nodes

__all__ = [
    "BEYOND_LIMITS",
    "CONTEXT",
    "DROPPED",
    "MAX_RESOLVE_DEPTH",
    "STORE",
    "Concrete",
    "Ctx",
    "RTerm",
    "Resolver",
    "equal_formula",
    "store_via",
    "tested_fields",
    "tested_refs",
    "traced",
    "trail",
    "trail_cat",
    "trail_last",
    "trail_nodes",
    "values_of",
]
