"""The page flow of the analyzed files: each file's flow collected, then
solved together."""

from __future__ import annotations

from analyzer.containers.function import FunctionFlow
from analyzer.containers.records import FileFlow, FlowContext
from analyzer.containers.solving import PageFlow, solve
from analyzer.containers.text import macros_of, page_types_of
from analyzer.cparse import ParsedFile, beyond_limits, functions


def file_flow(pf: ParsedFile, slots: set[str], page_types: set[str],
              defined: set[str], macros: dict[str, tuple[list[str], str]]) -> FileFlow:
    """The pointer facts of one file. ``slots``: member names of role type;
    ``page_types``: struct names whose members are the page itself;
    ``defined``: functions the analyzed files define; ``macros``: iterator
    macros (name -> (params, body))."""
    flow = FileFlow()
    for fd in functions(pf):
        if beyond_limits(pf, fd.node) is None:  # else reported as not analyzed
            FunctionFlow(pf, fd, flow, slots, page_types, defined, macros).run()
    return flow


def flow_context(texts: dict[str, str], defined: set[str], slots: set[str]) -> FlowContext:
    macros: dict = {}
    for text in texts.values():
        macros.update(macros_of(text))
    return FlowContext(frozenset(defined), tuple(sorted(macros.items())),
                       frozenset(page_types_of(list(texts.values()), slots)))


def file_flows(parsed: list[ParsedFile], context: FlowContext, slots: set[str]
               ) -> dict[str, FileFlow]:
    macros = dict(context.macros)
    return {pf.path: file_flow(pf, slots, set(context.page_types), set(context.defined), macros)
            for pf in parsed}


def page_flow(parsed: list[ParsedFile], slots: set[str]) -> PageFlow:
    """Solve the page flow of the analyzed files (all of them parsed)."""
    defined = {fd.name for pf in parsed for fd in functions(pf)}
    context = flow_context({pf.path: pf.text for pf in parsed}, defined, slots)
    return solve(file_flows(parsed, context, slots))
