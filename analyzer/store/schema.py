"""What an entry may hold: the records it may build (``REGISTRY``), the
annotations its fields are read and written by, and ``Malformed``."""

from __future__ import annotations

import types
import typing

from analyzer import terms
from analyzer.analysis import Analysis
from analyzer.containers import FileFlow, FlowContext
from analyzer.facts import CallSite, Compare, Exit, Facts, FuncInfo, Param, Phi, Store
from analyzer.findings import Finding, TraceStep
from analyzer.record import fields
from analyzer.roles import RoleModel, RoleType

MAGIC = "mmu-role-lint analysis"

# Every class an entry may build. Terms sit in fields typed ``object``;
# such a field takes one of TERMS (or None), nothing else.
TERMS = (terms.Const, terms.Named, terms.Opaque, terms.Unknown, terms.Scalar, terms.Ref,
         terms.Truthy, terms.Not, terms.And, terms.Or, terms.Eq, terms.OpaqueCond, terms.CompareCond,
         terms.Ite, terms.Value, terms.Mask)
RECORDS = (Analysis, Facts, FuncInfo, Param, CallSite, Store, Compare, Exit, Phi, RoleModel,
           RoleType,
           Finding, TraceStep, terms.Step, terms.Origin, FileFlow, FlowContext)
REGISTRY: dict[str, type] = {cls.__name__: cls for cls in (*RECORDS, *TERMS)}

# Fields whose annotation says less than what they hold: read and written
# (and checked) as this instead.
PRECISE: dict[tuple[type, str], object] = {
    (Analysis, "page_flows"): dict[str, FileFlow],
    (Analysis, "page_context"): FlowContext | None,
    (FileFlow, "functions"): dict[str, FileFlow],
    (FlowContext, "macros"): tuple[tuple[str, tuple[list[str], str]], ...],
    (Analysis, "by_compare"): dict[tuple[str, int], tuple[list[Finding], frozenset[tuple]]],
}

PLAIN = (str, int, bool, float)
SCALAR = frozenset({*PLAIN, type(None)})


class Malformed(ValueError):
    """The JSON is not an analysis this program wrote."""


def hints_of(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    hints.update((f, hint) for (c, f), hint in PRECISE.items() if c is cls)
    return hints


def fields_of(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.init)


def is_optional(origin, args) -> bool:
    """``X | None``, the only union the records use."""
    return origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args


def is_record(hint) -> bool:
    return isinstance(hint, type) and REGISTRY.get(hint.__name__) is hint
