"""Collecting role facts: declare the functions, role globals and
loop-macro filters of the files, then execute every function body."""

from __future__ import annotations

import hashlib

from analyzer.cparse import FunctionDef, ParsedFile, functions
from analyzer.facts.executor import Executor
from analyzer.facts.loops import filter_conditions, loop_filters
from analyzer.facts.records import CallSite, Compare, Facts, FuncInfo, Param, Phi, Store
from analyzer.facts.syntax import role_type_of
from analyzer.roles import RoleModel
from analyzer.terms import (
    And,
    Const,
    Eq,
    Ite,
    Named,
    Not,
    Opaque,
    Or,
    Ref,
    Scalar,
    Step,
    Truthy,
    Unknown,
    Value,
)


def collect(parsed: list[ParsedFile], model: RoleModel) -> Facts:
    """Extract role facts from every function of the parsed files."""
    facts = Facts(model=model)
    defs = _declare(parsed, facts)
    for pf, fd in defs:
        execute(pf, fd, facts)
    _canonical_order(facts)
    return facts


def execute(pf: ParsedFile, fd: FunctionDef, facts: Facts) -> None:
    """Execute one function's body, entering its facts. The conditions of
    its filtering loops are parsed first: execution never parses."""
    Executor(pf, fd, facts, filter_conditions(pf, fd, facts.loop_filters)).run()


def _canonical_order(facts: Facts) -> None:
    """Facts in source order, however they were collected: resolution walks
    them in this order, so a full and an incremental collection give the
    same findings with the same traces."""
    def where(step: Step) -> tuple:
        return (step.file, step.line, step.col)

    facts.calls.sort(key=lambda c: where(c.step))
    facts.stores.sort(key=lambda s: where(s.step))
    facts.compares.sort(key=lambda c: where(c.step))


def _declare(parsed: list[ParsedFile], facts: Facts) -> list[tuple[ParsedFile, FunctionDef]]:
    """Enter the functions (signatures), role globals and loop-macro filters
    of the files."""
    defs: list[tuple[ParsedFile, FunctionDef]] = []
    model = facts.model
    for pf in parsed:
        facts.loop_filters.update(loop_filters(pf))
        for fd in functions(pf):
            rt = role_type_of(fd.return_type_text, model)
            params = [
                Param(name=name, index=i, role_type=role_type_of(ttext, model))
                for i, (ttext, name) in enumerate(fd.params)
            ]
            if fd.name in facts.functions:
                continue  # first definition wins (#ifdef variants)
            facts.functions[fd.name] = FuncInfo(
                name=fd.name, file=pf.path, line=fd.start_line, params=params, returns_role=rt,
                end_line=fd.end_line,
                digest=hashlib.blake2b(pf.source[fd.node.start_byte:fd.node.end_byte],
                                       digest_size=16).hexdigest(),
            )
            defs.append((pf, fd))
        _collect_globals(pf, facts)
    return defs


def _signature(info: FuncInfo) -> tuple:
    """What callers depend on: arguments bind by position, so names may change."""
    return (info.returns_role, tuple(p.role_type for p in info.params))


def collect_incremental(changed: list[ParsedFile], base: Facts,
                        moves: dict[str, dict[int, int]] | None = None) -> Facts | None:
    """The facts of an image that differs from ``base``'s only in the files
    of ``changed``. The other files' facts are reused; so are those of the
    functions of a changed file whose text did not change, moved to their new
    lines (``moves``: file -> old line -> new line); the rest is executed
    again. None when reuse would be wrong (a function of a changed file was
    added, removed or changed signature, or a role global changed): then the
    caller collects everything."""
    paths = {pf.path for pf in changed}
    moves = moves or {}
    facts = Facts(model=base.model, next_id=base.next_id, loop_filters=dict(base.loop_filters))
    for name, info in base.functions.items():
        if info.file not in paths:
            facts.functions[name] = info
    for name, value in base.globals.items():
        if base.global_files.get(name) not in paths:
            facts.globals[name] = value
            facts.global_files[name] = base.global_files.get(name, "")
    defs = _declare(changed, facts)
    old = {n: _signature(i) for n, i in base.functions.items() if i.file in paths}
    new = {fd.name: _signature(facts.functions[fd.name]) for _pf, fd in defs}
    if old != new:
        return None
    if facts.loop_filters != base.loop_filters:
        return None  # a loop macro's filter changed: its users change too
    old_globals = {n: v.fields for n, v in base.globals.items() if base.global_files.get(n) in paths}
    new_globals = {n: v.fields for n, v in facts.globals.items() if facts.global_files.get(n) in paths}
    if old_globals != new_globals:
        return None
    keep = {name for name, info in facts.functions.items() if info.file not in paths}
    moved = {}
    for _pf, fd in defs:
        was, now = base.functions[fd.name], facts.functions[fd.name]
        if was.digest == now.digest and was.file in moves:
            moved[fd.name] = _Shift(was.file, moves[was.file])
    by_func: dict[str, list] = {}
    for kind, items in (("call", base.calls), ("store", base.stores), ("compare", base.compares),
                        ("phi", base.phis.values())):
        for item in items:
            owner = item.caller if kind == "call" else item.func
            if owner in keep:
                if kind == "phi":
                    facts.phis[item.id] = item
                else:
                    getattr(facts, kind + "s").append(item)
            elif owner in moved:
                by_func.setdefault(owner, []).append((kind, item))
    for pf, fd in defs:
        shift = moved.get(fd.name)
        if shift is not None:
            try:
                _reuse_moved(facts, base.functions[fd.name], by_func.get(fd.name, []), shift)
                continue
            except _Unmoved:
                pass  # a line it reads was edited: execute it again
        execute(pf, fd, facts)
    _canonical_order(facts)
    return facts


class _Unmoved(Exception):
    """A step of reused facts sits on a line the edit changed."""


class _Shift:
    """Copies of facts with the steps of one file moved to new lines."""

    def __init__(self, file: str, moves: dict[int, int]) -> None:
        self.file = file
        self.moves = moves
        self.memo: dict[int, object] = {}

    def step(self, st: Step) -> Step:
        if st.file != self.file or not st.line:
            return st
        line = self.moves.get(st.line)
        if line is None:
            raise _Unmoved
        return st if line == st.line else Step(st.file, line, st.col, st.function, st.kind, st.text)

    def __call__(self, obj):
        key = id(obj)
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = self._copy(obj)
        return got

    def _copy(self, t):
        if isinstance(t, Value):
            return Value(t.type, {p: self(x) for p, x in t.fields.items()}, t.fresh)
        if isinstance(t, Const):
            return Const(t.value, self.step(t.step))
        if isinstance(t, Named):
            return Named(t.name, self.step(t.step))
        if isinstance(t, Opaque):
            return Opaque(t.text, self.step(t.step))
        if isinstance(t, Unknown):
            return Unknown(t.why, self.step(t.step))
        if isinstance(t, Scalar):
            return Scalar(t.func, t.name, self.step(t.step))
        if isinstance(t, Ref):
            return Ref(t.origin, t.path, self.step(t.step))
        if isinstance(t, Ite):
            return Ite(self(t.cond), self(t.then), self(t.other), self.step(t.step))
        if isinstance(t, Truthy):
            return Truthy(self(t.term), t.path)
        if isinstance(t, Not):
            return Not(self(t.cond))
        if isinstance(t, And):
            return And(tuple(self(p) for p in t.parts))
        if isinstance(t, Or):
            return Or(tuple(self(p) for p in t.parts))
        if isinstance(t, Eq):
            return Eq(self(t.left), self(t.right))
        return t  # OpaqueCond and anything without a step


def _reuse_moved(facts: Facts, was: FuncInfo, items: list, shift: _Shift) -> None:
    """Enter a function's facts from the base analysis, moved by ``shift``."""
    info = facts.functions[was.name]
    returns = [(shift(c), shift(v), shift.step(st)) for c, v, st in was.returns]
    made: list = []
    for kind, item in items:
        if kind == "call":
            made.append((kind, CallSite(item.id, item.caller, item.callee,
                                        [shift(a) for a in item.args], shift.step(item.step))))
        elif kind == "store":
            made.append((kind, Store(item.id, item.func, item.slot,
                                     shift(item.value) if item.value is not None else None,
                                     item.path, shift.step(item.step))))
        elif kind == "compare":
            made.append((kind, Compare(item.id, item.func, shift(item.left), shift(item.right),
                                       item.fields, shift.step(item.step), item.left_text,
                                       item.right_text, shift(item.cond))))
        else:
            made.append((kind, Phi(item.id, item.func,
                                   [(shift(c), shift(v)) for c, v in item.alternatives],
                                   shift.step(item.step))))
    # nothing entered before every step moved: all or nothing
    info.returns = returns
    info.defines_fields, info.role_flow = was.defines_fields, was.role_flow
    for kind, item in made:
        if kind == "phi":
            facts.phis[item.id] = item
        else:
            getattr(facts, kind + "s").append(item)


def _collect_globals(pf: ParsedFile, facts: Facts) -> None:
    """Role constants at file scope, e.g. a mask of base role bits."""
    for node in pf.root.named_children:
        if node.type != "declaration":
            continue
        rt = role_type_of(pf.text_of(node.child_by_field_name("type")), facts.model)
        if rt is None:
            continue
        for decl in node.children_by_field_name("declarator"):
            if decl.type != "init_declarator":
                continue
            name_node = decl.child_by_field_name("declarator")
            value = decl.child_by_field_name("value")
            if name_node is None or value is None or name_node.type != "identifier":
                continue
            name = pf.text_of(name_node)
            facts.globals[name] = Executor(pf, None, facts).role.initializer(rt, value, name)
            facts.global_files[name] = pf.path
