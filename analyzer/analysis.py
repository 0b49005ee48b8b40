"""One analysis of one image: parse -> role facts -> graph -> checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from analyzer.checks import RULES
from analyzer.containers import FlowContext, file_flows, flow_context, solve
from analyzer.cparse import ParsedFile, error_counts, parse_c
from analyzer.facts import Facts, collect, collect_incremental
from analyzer.findings import Finding, merge_findings
from analyzer.resolve import Resolver
from analyzer.roles import RoleModel, default_model, model_from_parsed
from analyzer.sources import Image
from analyzer.suppress import apply_suppressions


@dataclass
class Analysis:
    files: list[str]
    model: RoleModel
    facts: Facts
    findings: list[Finding]
    parse_errors: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> function -> errors
    parsed: list[str] = field(default_factory=list)  # files parsed for this analysis
    # per comparison site, (function, n-th site in it): its findings before
    # merging and suppression, and the facts they were resolved from
    by_compare: dict[tuple[str, int], tuple[list[Finding], frozenset]] = field(default_factory=dict)
    reused: int = 0  # comparison sites answered from the base analysis
    # where pages live (analyzer.containers): each file's pointer flow, and
    # what those flows were computed against
    page_flows: dict = field(default_factory=dict)
    page_context: object = None

    @cached_property
    def graph(self):
        """The networkx role-flow graph; built on first use (checks resolve
        values from the facts directly, so check and scan need not import
        networkx unless a picture or a path check is asked for)."""
        from analyzer.graph import build

        return build(self.facts)

    def role_flow_errors(self) -> dict[str, int]:
        """ERROR/MISSING nodes inside functions that take part in role flow."""
        out: dict[str, int] = {}
        for name, info in self.facts.functions.items():
            if info.role_flow:
                n = self.parse_errors.get(info.file, {}).get(name, 0)
                if n:
                    out[name] = n
        return out


def build_model(parsed: list[ParsedFile]) -> RoleModel:
    """Role types from the headers and sources, completed by the defaults."""
    model = model_from_parsed(parsed)
    defaults = default_model()
    if model is None:
        return defaults
    for slot, rtype in defaults.slots.items():
        if rtype in model.types:
            model.slots.setdefault(slot, rtype)
    return model


def analyze_cached(image: Image) -> Analysis:
    """``analyze``, through the on-disk cache (analyzer.cache): a tree
    checked again, or the base of the next patch, is read back at once."""
    from analyzer import cache

    if cache.cache_root() is None:
        return analyze(image)
    key = cache.image_key(image.files, image.headers)
    found = cache.load(key)  # an Analysis, checked field by field, or None
    if isinstance(found, Analysis):
        return found
    result = analyze(image)
    cache.store(key, result)  # its fields only: the graph is built again on use
    return result


def analyze(image: Image, base: Analysis | None = None, base_image: Image | None = None) -> Analysis:
    """Analyze an image. Given the analysis of another image (``base`` of
    ``base_image``, typically the tree before a patch), only the files that
    differ are parsed and executed again, when that gives the same result."""
    if base is not None and base_image is not None:
        done = _incremental(image, base, base_image)
        if done is not None:
            return done
    parsed = [_parse(path, text) for path, text in image.files.items()]
    # a header that never says "union" declares no role type and no role member
    headers = [_parse(path, text) for path, text in image.headers.items() if "union" in text]
    model = build_model(headers + parsed)
    facts = collect(parsed, model)
    context = _page_context(image, facts, model)
    flows = file_flows(parsed, context, set(model.slots))
    return _finish(image, model, facts, {pf.path: error_counts(pf) for pf in parsed},
                   [*image.headers, *image.files], pages=(flows, context))


def _page_context(image: Image, facts: Facts, model: RoleModel) -> FlowContext:
    return flow_context(image.files, set(facts.functions), set(model.slots))


def _parse(path: str, text: str, old: str | None = None) -> ParsedFile:
    """Parse, with the neutralized text from the cache when this text was
    seen before, or made from the old text's by ``neutralize_edit``. A
    cached text is used only when it can be a neutralization of its text
    (``cache.load_text`` checks the checksum, length and lines)."""
    from analyzer import cache
    from analyzer.neutralize import neutralize, neutralize_edit

    if cache.cache_root() is None:
        return parse_c(path, text)
    key = cache.text_key(text)
    neutral = cache.load_text(key, text)
    if neutral is None:
        old_neutral = cache.load_text(cache.text_key(old), old) if old is not None else None
        if old is not None and old_neutral is not None:
            neutral = neutralize_edit(old, old_neutral, text)
        else:
            neutral = neutralize(text)
        cache.store_text(key, neutral)
    return parse_c(path, text, neutral=neutral)


def _finish(image: Image, model: RoleModel, facts: Facts, parse_errors: dict,
            parsed: list[str], reuse: _Reuse | None = None,
            pages: tuple[dict, FlowContext] | None = None) -> Analysis:
    flows, context = pages if pages is not None else ({}, None)
    resolver = Resolver(facts, pages=solve(flows) if flows else None)
    by_compare: dict[tuple[str, int], tuple[list[Finding], frozenset]] = {}
    seen: dict[str, int] = {}
    reused = 0
    for cmp in facts.compares:
        key = (cmp.func, seen.get(cmp.func, 0))
        seen[cmp.func] = key[1] + 1
        old = reuse.findings_for(key) if reuse is not None else None
        if old is not None:
            by_compare[key] = old
            reused += 1
            continue
        found, deps = resolver.tracked(
            lambda cmp=cmp: [f for rule in RULES.values() for f in rule.check_compare(cmp, facts, resolver)])
        by_compare[key] = (found, deps | {("fn", cmp.func), ("callers", cmp.func)})
    findings = [f for found, _deps in by_compare.values() for f in found]
    return Analysis(
        files=list(image.files),
        model=model,
        facts=facts,
        findings=apply_suppressions(merge_findings(findings), image.files),
        parse_errors=parse_errors,
        parsed=parsed,
        by_compare=by_compare,
        reused=reused,
        page_flows=flows,
        page_context=context,
    )


class _Reuse:
    """What an analysis after a patch may take from the analysis before it:
    the findings of a comparison site none of whose facts changed, moved to
    the lines the patch moved them to."""

    def __init__(self, base: Analysis, facts: Facts, paths: set[str], moves: dict,
                 pages_changed: bool = False) -> None:
        old = {n: i for n, i in base.facts.functions.items() if i.file in paths}
        new = {n: i for n, i in facts.functions.items() if i.file in paths}
        changed = {n for n in old.keys() | new.keys()
                   if getattr(old.get(n), "digest", None) != getattr(new.get(n), "digest", None)}
        callees = {c.callee for c in base.facts.calls if c.caller in changed}
        callees |= {c.callee for c in facts.calls if c.caller in changed}
        slots = {s.slot for s in base.facts.stores if s.func in changed}
        slots |= {s.slot for s in facts.stores if s.func in changed}
        self.dirty = ({("fn", n) for n in changed} | {("callers", n) for n in callees}
                      | {("slot", n) for n in slots})
        if pages_changed:  # a load may meet other stores now
            self.dirty |= {("slot", s.slot) for s in facts.stores}
        self.base = base
        self.moves = moves  # file -> {old line: new line} for lines that stayed

    def findings_for(self, key):
        found = self.base.by_compare.get(key)
        if found is None or found[1] & self.dirty:
            return None
        try:
            return ([_moved(f, self.moves) for f in found[0]], found[1])
        except KeyError:  # a line of the trace is one the patch changed
            return None


def _line_moves(old: str, new: str) -> dict[int, int]:
    """Old line -> new line, for the lines an edit kept (1-based)."""
    import difflib

    a, b = old.splitlines(), new.splitlines()
    # the common head and tail first: a patch's hunks lie between them, and
    # matching only that middle keeps this cheap on an 8000-line file
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    moves = {k: k for k in range(1, head + 1)}
    shift = len(b) - len(a)
    moves.update((k, k + shift) for k in range(len(a) - tail + 1, len(a) + 1))
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False)
    for i, j, n in matcher.get_matching_blocks():
        for k in range(n):
            moves[head + i + k + 1] = head + j + k + 1
    return moves


def _moved(f: Finding, moves: dict) -> Finding:
    from dataclasses import replace

    from analyzer.nodes import node_of

    def line(file: str, n: int) -> int:
        return moves[file][n] if file in moves else n

    def step(st):
        return replace(st, line=line(st.file, st.line)) if st.file in moves else st

    def node(n):
        st = getattr(n, "step", None)
        return node_of(step(st)) if st is not None else n

    return replace(
        f,
        line=line(f.file, f.line),
        trace=[replace(t, line=line(t.file, t.line)) for t in f.trace],
        related=[step(st) for st in f.related],
        graph_path=[node(n) for n in f.graph_path],
        suppressed=None,
    )


_UNION_DEF = re.compile(r"union\s+\w+\s*\{")  # a literal head searches fast


_BRACE = re.compile(r"[{}]")


def _union_defs(text: str) -> list[str]:
    """The text of every union definition (the role model is read from them)."""
    out = []
    for m in _UNION_DEF.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
            continue
        depth = 0
        for b in _BRACE.finditer(text, m.end() - 1):
            depth += 1 if b.group() == "{" else -1
            if depth == 0:
                out.append(text[m.start():b.end()])
                break
    return out


def _incremental(image: Image, base: Analysis, base_image: Image) -> Analysis | None:
    if image.headers != base_image.headers or list(image.files) != list(base_image.files):
        return None
    changed = [p for p, text in image.files.items() if base_image.files[p] != text]
    if not changed:
        return base
    if any(_union_defs(image.files[p]) != _union_defs(base_image.files[p]) for p in changed):
        return None  # the role model may change
    parsed = [_parse(p, image.files[p], base_image.files[p]) for p in changed]
    moves = {p: _line_moves(base_image.files[p], image.files[p]) for p in changed}
    facts = collect_incremental(parsed, base.facts, moves)
    if facts is None:
        return None
    parse_errors = dict(base.parse_errors)
    parse_errors.update((pf.path, error_counts(pf)) for pf in parsed)
    context = _page_context(image, facts, base.model)
    if context != base.page_context or not base.page_flows:
        return None  # what pages are, or which functions exist, changed
    flows = dict(base.page_flows)
    flows.update(file_flows(parsed, context, set(base.model.slots)))
    reuse = _Reuse(base, facts, set(changed), moves,
                   pages_changed=any(flows[p] != base.page_flows.get(p) for p in changed))
    return _finish(image, base.model, facts, parse_errors, changed, reuse, pages=(flows, context))
