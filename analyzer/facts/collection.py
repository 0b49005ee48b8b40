"""Collecting role facts: declare the functions, role globals and
loop-macro filters of the files, then execute every function body.
(``analyzer.incremental`` collects again only what an edit changed.)"""

from __future__ import annotations

from collections.abc import Callable

from analyzer.cparse import (
    BeyondLimits,
    FunctionDef,
    ParsedFile,
    beyond_limits,
    code_digest,
    functions,
)
from analyzer.facts.executor import Executor
from analyzer.facts.loops import filter_conditions, loop_filters
from analyzer.facts.records import Facts, FuncInfo, Param
from analyzer.facts.syntax import role_type_of
from analyzer.roles import RoleModel
from analyzer.terms import Step, beyond_value_limits


def collect(parsed: list[ParsedFile], model: RoleModel,
            declared: Callable[[Facts], None] | None = None) -> Facts:
    """Extract role facts from every function of the parsed files.
    ``declared(facts)`` is called once every function is declared, before
    any is executed (what needs only the functions' names starts there)."""
    facts = Facts(model=model)
    defs = declare(parsed, facts)
    if declared is not None:
        declared(facts)
    for pf, fd in defs:
        execute(pf, fd, facts)
    canonical_order(facts)
    return facts


def execute(pf: ParsedFile, fd: FunctionDef, facts: Facts) -> None:
    """Execute one function's body, entering its facts. The conditions of
    its filtering loops are parsed first: execution never parses.

    Unless it costs more than one function may (``beyond_limits`` before,
    ``BeyondLimits`` from its loop conditions, ``beyond_value_limits`` after):
    then none of its facts are kept, and ``not_analyzed`` says why."""
    info = facts.functions[fd.name]
    why = beyond_limits(pf, fd.node)
    if why is None:
        marks = (len(facts.calls), len(facts.stores), len(facts.compares), len(facts.exits),
                 facts.next_id)
        ex = None
        try:
            # the loop conditions are parsed first: one may be beyond the limits
            ex = Executor(pf, fd, facts, filter_conditions(pf, fd, facts.loop_filters))
            ex.run()
        except BeyondLimits as err:
            why = str(err)
        finally:
            if ex is not None:
                ex.release()
        calls, phis = facts.calls[marks[0]:], {i: p for i, p in facts.phis.items() if i > marks[4]}
        roots = [info.returns, [c.args for c in calls], [s.value for s in facts.stores[marks[1]:]],
                 [(c.left, c.right, c.cond) for c in facts.compares[marks[2]:]],
                 [e.cond for e in facts.exits[marks[3]:]], [p.alternatives for p in phis.values()]]
        why = why or beyond_value_limits(roots)
        if why is not None:
            del facts.calls[marks[0]:], facts.stores[marks[1]:], facts.compares[marks[2]:]
            del facts.exits[marks[3]:]
            for i in phis:
                del facts.phis[i]
    if why is not None:
        info.not_analyzed, info.returns = why, []


def canonical_order(facts: Facts) -> None:
    """Facts in source order, however they were collected: resolution walks
    them in this order, so a full and an incremental collection give the
    same findings with the same traces."""
    def where(step: Step) -> tuple:
        return (step.file, step.line, step.col)

    facts.calls.sort(key=lambda c: where(c.step))
    facts.stores.sort(key=lambda s: where(s.step))
    facts.compares.sort(key=lambda c: where(c.step))
    facts.exits.sort(key=lambda e: where(e.step))


def declare(parsed: list[ParsedFile], facts: Facts) -> list[tuple[ParsedFile, FunctionDef]]:
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
                digest=code_digest(pf, fd),
            )
            defs.append((pf, fd))
        _collect_globals(pf, facts)
    return defs


def _collect_globals(pf: ParsedFile, facts: Facts) -> None:
    """Role constants at file scope, e.g. a mask of base role bits."""
    for node in pf.root.named_children:
        if node.type != "declaration":
            continue
        rt = role_type_of(pf.text_of(node.child_by_field_name("type")), facts.model)
        if rt is None or beyond_limits(pf, node):
            continue  # no role; or too deep to execute: cparse.left_out reports it
        for decl in node.children_by_field_name("declarator"):
            if decl.type != "init_declarator":
                continue
            name_node = decl.child_by_field_name("declarator")
            value = decl.child_by_field_name("value")
            if name_node is None or value is None or name_node.type != "identifier":
                continue
            name = pf.text_of(name_node)
            ex = Executor(pf, None, facts)
            try:
                facts.globals[name] = ex.role.initializer(rt, value, name)
            finally:
                ex.release()
            facts.global_files[name] = pf.path
