"""The page flow of the analyzed files: each file's flow collected, then
solved together."""

from __future__ import annotations

import hashlib

from analyzer.containers.function import FunctionFlow
from analyzer.containers.records import FileFlow, FlowContext
from analyzer.containers.solving import PageFlow, solve
from analyzer.containers.text import macros_of, member_names, page_types_of
from analyzer.cparse import ParsedFile, beyond_limits, functions


def file_flow(pf: ParsedFile, slots: set[str], page_types: set[str],
              defined: set[str], macros: dict[str, tuple[list[str], str]],
              before: FileFlow | None = None) -> FileFlow | None:
    """The pointer facts of one file, one function at a time. ``slots``:
    member names of role type; ``page_types``: struct names whose members
    are the page itself; ``defined``: functions the analyzed files define;
    ``macros``: iterator macros (name -> (params, body)); ``before``: the
    file's flow in the same context before an edit, whose functions of the
    same text are taken as they are."""
    flow = FileFlow(context=_digest("\n".join(sorted(member_names(pf))).encode()))
    old = before.functions if before is not None and before.context == flow.context else {}
    for fd in functions(pf):
        if beyond_limits(pf, fd.node) is not None:
            continue  # reported as not analyzed
        key = function_key(pf, fd, flow.functions)
        part = old.get(key)
        if part is None:
            part = FileFlow()
            FunctionFlow(pf, fd, part, slots, page_types, defined, macros).run()
        flow.functions[key] = part
    if pf.lines is not None:
        return _in_part(pf, flow, before)
    return flow


def _in_part(pf: ParsedFile, flow: FileFlow, before: FileFlow | None) -> FileFlow | None:
    """The flow of a file parsed in part (``parse_lines``: one function,
    ``flow`` holds its flow): the flow before the edit, that function's
    replaced where it was. None where that takes the whole tree: the
    names used as members changed (every function's flow may read them),
    or the function was left out before and is not now."""
    if before is None or before.context != flow.context:
        return None
    names = {fd.name for fd in functions(pf)}
    if sum(1 for key in before.functions if key.split(":", 1)[0] in names) > 1:
        return None  # two definitions of one name (#ifdef variants): which one is this?
    out = FileFlow(context=flow.context)
    mine = iter(flow.functions.items())
    for key, part in before.functions.items():
        if key.split(":", 1)[0] not in names:
            out.functions[key] = part
            continue
        got = next(mine, None)
        if got is not None:
            out.functions[got[0]] = got[1]
    return out if next(mine, None) is None else None


def function_key(pf: ParsedFile, fd, taken: dict) -> str:
    """A function's name and a digest of its text (a second definition of
    the same text is told from the first by its number)."""
    node = fd.node
    digest = _digest(pf.source[node.start_byte:node.end_byte] + b"\0"
                     + pf.text_of(node).encode("utf-8", "surrogateescape"))
    key = f"{fd.name}:{digest}"
    n = 1
    while key in taken:
        n += 1
        key = f"{fd.name}:{digest}:{n}"
    return key


def flow_context(texts: dict[str, str], defined: set[str], slots: set[str]) -> FlowContext:
    macros: dict = {}
    for text in texts.values():
        macros.update(macros_of(text))
    return FlowContext(frozenset(defined), tuple(sorted(macros.items())),
                       frozenset(page_types_of(list(texts.values()), slots)))


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def file_flows(parsed: list[ParsedFile], context: FlowContext, slots: set[str],
               before: dict[str, FileFlow] | None = None) -> dict[str, FileFlow | None]:
    """Each file's flow; ``before``: the flows of the same files before an
    edit, in the same context. None for a file parsed in part whose flow
    takes its whole tree (``_in_part``)."""
    macros = dict(context.macros)
    old = before or {}
    return {pf.path: file_flow(pf, slots, set(context.page_types), set(context.defined), macros,
                               old.get(pf.path))
            for pf in parsed}


def page_flow(parsed: list[ParsedFile], slots: set[str]) -> PageFlow:
    """Solve the page flow of the analyzed files (all of them parsed)."""
    defined = {fd.name for pf in parsed for fd in functions(pf)}
    context = flow_context({pf.path: pf.text for pf in parsed}, defined, slots)
    return solve(file_flows(parsed, context, slots))
