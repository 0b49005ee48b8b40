"""One analysis of one image: parse -> role facts -> graph -> checks."""

from __future__ import annotations

from functools import cached_property, lru_cache

from analyzer.beside import Beside, can_fork, from_both_ends
from analyzer.checks import Check, Site, checks
from analyzer.constants import defines_alike, macro_values
from analyzer.containers import (
    FlowContext,
    PageFlow,
    context_alike,
    file_flows,
    flow_context,
    solve,
)
from analyzer.cparse import ParsedFile, error_counts, left_out, parse_c, parse_lines, same_code
from analyzer.encoding import encode
from analyzer.facts import Facts, collect
from analyzer.findings import Finding, NotAnalyzed, merge_findings
from analyzer.incremental import (
    SiteReuse,
    collect_incremental,
    edited_lines,
    line_moves,
    same_facts,
    union_defs,
)
from analyzer.record import field, record
from analyzer.resolve import BEYOND_LIMITS, MAX_RESOLVE_DEPTH, Resolver, tested_fields
from analyzer.roles import RoleModel, default_model, model_from_parsed
from analyzer.sources import Image
from analyzer.suppress import apply_suppressions

# (rule id, function, n-th site of that rule in the function): a site's name
# that survives edits elsewhere
SiteKey = tuple[str, str, int]


@record
class Analysis:
    files: list[str]
    model: RoleModel
    facts: Facts
    findings: list[Finding]
    parse_errors: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> function -> errors
    parsed: list[str] = field(default_factory=list)  # files parsed for this analysis
    # per site a check looks at: its findings before merging and suppression,
    # and the facts they were resolved from
    by_site: dict[SiteKey, tuple[list[Finding], frozenset]] = field(default_factory=dict)
    reused: int = 0  # sites answered from the base analysis
    # where pages live (analyzer.containers): each file's pointer flow, and
    # what those flows were computed against
    page_flows: dict = field(default_factory=dict)
    page_context: object = None
    left_out: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # file -> outside functions
    # the values of the tree's object-like macros (analyzer.constants)
    constants: dict[str, int] = field(default_factory=dict)

    @cached_property
    def graph(self):
        """The networkx role-flow graph; built on first use (checks resolve
        values from the facts directly, so check and scan need not import
        networkx unless a picture or a path check is asked for)."""
        from analyzer.graph import build

        return build(self.facts)

    def not_analyzed(self, files=None) -> list[NotAnalyzed]:
        """What the analysis left out (of ``files`` only, when given):
        functions beyond the limits, text outside functions too long to
        parse, and sites whose values are resolved too deep."""
        out = [NotAnalyzed(i.file, i.line, name, i.not_analyzed)
               for name, i in self.facts.functions.items() if i.not_analyzed]
        out += [NotAnalyzed(path, line, "", why)
                for path, items in self.left_out.items() for line, why in items]
        for key, site, _check in site_keys(self.facts):
            if BEYOND_LIMITS in self.by_site.get(key, ((), frozenset()))[1]:
                info = self.facts.functions[site.func]
                step = getattr(site, "step", None)
                line = step.line if step is not None else info.line
                out.append(NotAnalyzed(info.file, line, site.func,
                                       f"the values at line {line} are resolved inside one another "
                                       f"more than {MAX_RESOLVE_DEPTH} times"))
        return sorted((n for n in out if files is None or n.file in files),
                      key=lambda n: (n.file, n.line, n.function))

    def role_flow_errors(self) -> dict[str, int]:
        """ERROR/MISSING nodes inside functions that take part in role flow."""
        out: dict[str, int] = {}
        for name, info in self.facts.functions.items():
            if info.role_flow:
                n = self.parse_errors.get(info.file, {}).get(name, 0)
                if n:
                    out[name] = n
        return out


def site_keys(facts: Facts):
    """(key, site, check) for each site a check looks at; the key names it
    in ``Analysis.by_site``. The checks are imported."""
    for rule, check in checks():
        seen: dict[str, int] = {}
        for site in check.sites(facts):
            key = (rule.id, site.func, seen.get(site.func, 0))
            seen[site.func] = key[2] + 1
            yield key, site, check


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


def analyze_cached(image: Image, storing: list[Beside] | None = None,
                   findings_only: bool = False) -> Analysis:
    """``analyze``, through the on-disk cache (analyzer.cache): a tree
    checked again, or the base of the next patch, is read back at once.
    ``storing``: a new analysis is written to the cache by a child process
    while the caller goes on (to the analysis after a patch); its
    ``Beside`` is added there, for the caller to wait for (``result()``).
    ``findings_only``: the caller reads the findings only (the base of an
    edit that ``reusable`` refuses: a delta is all it is for); they are read
    from an entry of their own, a few kB instead of the whole analysis."""
    from analyzer import cache

    if cache.cache_root() is None:
        return analyze(image)
    key = cache.image_key(image.files, image.headers, image.context)
    if findings_only:
        found = cache.load(key, FINDINGS)
        if isinstance(found, Analysis):
            return found
    found = cache.load(key)  # an Analysis, checked field by field, or None
    if isinstance(found, Analysis):
        if findings_only:  # an entry written without its findings' (or theirs was broken)
            cache.store(key, findings_of(found), FINDINGS)
        return found
    result = analyze(image)

    def store() -> None:  # its fields only: the graph is built again on use
        cache.store(key, result)
        cache.store(key, findings_of(result), FINDINGS)

    if storing is not None and can_fork():
        storing.append(Beside(store))
    else:
        store()
    return result


# the cache's kind of the entries that hold an analysis's findings only
FINDINGS = "findings"


def findings_of(analysis: Analysis) -> Analysis:
    """An analysis with ``analysis``'s files, model and findings and no
    facts: what a delta reads of the analysis before an edit."""
    return Analysis(files=list(analysis.files), model=analysis.model,
                    facts=Facts(model=analysis.model), findings=list(analysis.findings))


def reusable(image: Image, base_image: Image) -> bool:
    """Whether ``analyze`` may make the analysis of ``image`` from that of
    ``base_image`` (its ``base``) rather than from nothing: the same
    headers and files, and no union definition edited (the role model
    would change). When not, the base's findings are all a delta needs."""
    if image.headers != base_image.headers or list(image.files) != list(base_image.files):
        return False
    return all(union_defs(text) == union_defs(base_image.files[p])
               for p, text in image.files.items() if base_image.files[p] != text)


def analyze(image: Image, base: Analysis | None = None, base_image: Image | None = None) -> Analysis:
    """Analyze an image. Given the analysis of another image (``base`` of
    ``base_image``, typically the tree before a patch), only the files that
    differ are parsed and executed again, when that gives the same result."""
    if base is not None and base_image is not None:
        done = _incremental(image, base, base_image)
        if done is not None:
            return done
    # a header that never says "union" declares no role type and no role member
    wanted = {**image.files, **{p: t for p, t in image.headers.items() if "union" in t}}
    _neutral_ahead(list(wanted.values()))
    try:
        parsed = [_parse(path, text) for path, text in image.files.items()]
        headers = [_parse(path, image.headers[path]) for path in wanted if path in image.headers]
    finally:
        _AHEAD.clear()
    model = build_model(headers + parsed)
    # the page flows need only the functions' names: made beside the facts
    pages: list[tuple[FlowContext, Beside]] = []

    def declared(facts: Facts, files: list[ParsedFile] = parsed) -> None:
        context = _page_context(image, facts, model)
        pages.append((context, Beside(lambda: file_flows(files, context, set(model.slots)))))

    facts = collect(parsed, model, declared)
    # what role-incomplete reads: the same trees, without the node objects
    # the walks made and will make (py-tree-sitter caches a node's children
    # on it)
    facts.state = _state_view(image, [pf.fresh() for pf in parsed + headers], model)
    constants = _constants(image)
    context, flows_beside = pages[0]
    flows = flows_beside.result()
    # role-incomplete's sites, found while role-mismatch resolves; or, in a
    # tree with many more role functions than any kernel's, every site
    # split between two processes once the first is resolved (``_finish``)
    split = sum(1 for info in facts.functions.values() if info.role_flow) >= SPLIT_ROLE_FUNCTIONS
    beside = None if split else _beside(facts, constants)
    errors = {pf.path: error_counts(pf) for pf in parsed}
    unparsed = {pf.path: left_out(pf) for pf in parsed}
    # the node objects the walks made hang on these trees (py-tree-sitter
    # caches a node's children on it): ``declared`` holds the list too, as
    # its default, and all of it would stay through the sites (and be
    # copied into the child ``_finish`` forks), 12 MB on bench's x8 tree
    del parsed, headers, declared
    return _finish(image, model, facts, errors, [*image.headers, *image.files],
                   pages=(flows, context), unparsed=unparsed, constants=constants,
                   beside=beside, split=split)


# the functions in role flow from which an analysis splits every site between
# two processes, not only role-incomplete's: the first site resolves the
# loads most sites share, and each process would pay for them again, so it
# pays where they are a small part of the whole (the kernels from 4.19 to
# 7.1 have 42 to 83; bench's mmu.c copied 8 times, 545)
SPLIT_ROLE_FUNCTIONS = 250


def _beside(facts: Facts, constants: dict[str, int]) -> Beside | None:
    """The findings of the sites of the checks that may be found apart
    (``Check.beside``), computed in a child process from now on (their
    own resolver: they read no value another site's resolution memoizes);
    None when there are none or one process is all there is."""
    todo = [(key, site, check) for key, site, check in site_keys(facts) if check.beside]
    if not todo or not can_fork():
        return None

    def find() -> dict:
        resolver = _resolver(facts, {}, constants)
        try:
            return {key: _find(resolver, site, check, facts) for key, site, check in todo}
        finally:
            resolver.release()

    return Beside(find)


def _find(resolver: Resolver, site: Site, check: Check, facts: Facts) -> tuple[list[Finding], frozenset]:
    """One site's findings, and what they were resolved from."""
    found, deps = resolver.tracked(lambda: check.find(site, facts, resolver))
    return found, deps | {("fn", site.func), ("callers", site.func)}


def _state_view(image: Image, parsed: list[ParsedFile], model: RoleModel,
                old: dict[str, str] | None = None):
    """What role-incomplete reads: the image's files, parsed again on demand
    (a file of which one function was parsed alone, ``parse_lines``, too:
    whole, when a site first reads it, from its text before the edit,
    ``old``, as ``_parse`` parses an edited file: git mode parses the next
    commit's from that tree)."""
    from analyzer.state_sources import StateView

    alone = {pf.path: pf.text for pf in parsed if pf.lines is not None}
    before = old or {}

    def parse(path: str, text: str) -> ParsedFile:
        if alone.get(path) == text and path in before:
            return _parse(path, text, before[path])
        return _parse_on_demand(path, text)

    slots = tuple(s for s in model.slots if s.endswith("_role"))
    return StateView(image.files, image.headers, image.context,
                     {pf.path: pf for pf in parsed if pf.lines is None},
                     parse if alone else _parse_on_demand, slots, frozenset(alone))


def _parse_on_demand(path: str, text: str) -> ParsedFile:
    """What role-incomplete parses when it needs it (a header, a function a
    macro generates): once per text in a run, as git mode reads the same
    headers and macros commit after commit, each time without the node
    objects another walk made on it."""
    return _parsed_once(path, text).fresh()


@lru_cache(maxsize=64)
def _parsed_once(path: str, text: str) -> ParsedFile:
    return _parse(path, text)


def _resolver(facts: Facts, flows: dict, constants: dict[str, int] | None) -> Resolver:
    return Resolver(facts, pages=_solved(flows) if flows else None, constants=constants or {})


_SOLVED: list[tuple[dict, PageFlow]] = []  # the flows solved last in this run, solved


def _solved(flows: dict) -> PageFlow:
    """The solved page flow; the last one again when every file moves
    pointers as it did there (git mode: most commits leave the flow as it
    was). The flow holds no line: what is solved is the same."""
    if _SOLVED:
        was, got = _SOLVED[0]
        if was.keys() == flows.keys() and all(f is was[p] or f.same_flow(was[p])
                                               for p, f in flows.items()):
            return got
    got = solve(flows)
    _SOLVED[:] = [(dict(flows), got)]
    return got


def _constants(image: Image) -> dict[str, int]:
    return macro_values([*image.headers.values(), *image.files.values()])


def _page_context(image: Image, facts: Facts, model: RoleModel) -> FlowContext:
    return flow_context(image.files, set(facts.functions), set(model.slots))


def _parse(path: str, text: str, old: str | None = None, neutral: str | None = None) -> ParsedFile:
    """Parse, with the neutralized text of ``_neutral`` (``neutral``, when
    the caller has it); a file edited from ``old`` (a patch's, a commit's)
    from the tree of ``old`` when this run parsed it last (``_EDITED``: git
    mode edits one file commit after commit)."""
    before = None
    if old is not None:
        last = _EDITED.get(path)
        if last is not None and last.text == old:
            before = last
    pf = parse_c(path, text, neutral=neutral if neutral is not None else _neutral(text, old),
                 before=before)
    if old is not None:  # its tree, not the node objects walks make on it
        _keep(_EDITED, path, pf.fresh(), _EDITED_KEPT)
    return pf


# whether an edit inside one function parses that function alone (tests
# compare both ways)
PARSE_EDITED_ALONE = True


def _parse_edited(path: str, text: str, old: str, base: Analysis, moves) -> ParsedFile:
    """A file an edit changed: where the edit lies inside one function
    (``edited_lines``), that function alone (``parse_lines``); else the
    whole file (``_parse``). Not where this run parsed ``old`` whole (the
    tree of git mode's last commit, re-parsed at the edit) or where the
    file has text the analysis leaves out."""
    last = _EDITED.get(path)
    lines = None
    if PARSE_EDITED_ALONE and not base.left_out.get(path) and (last is None or last.text != old):
        lines = edited_lines(base.facts, path, moves)
    neutral = _neutral(text, old)
    if lines is not None:
        pf = parse_lines(path, text, neutral, *lines)
        if _one_definition(pf, lines):
            return pf
    return _parse(path, text, old, neutral)


def _one_definition(pf: ParsedFile, lines: tuple[int, int]) -> bool:
    """Whether ``pf`` (``parse_lines``) holds one function, clean, spanning
    exactly its lines: the one the edit was inside."""
    from analyzer.cparse import functions

    if pf.root.has_error or pf.oversized:
        return False
    got = functions(pf)
    return len(got) == 1 and (got[0].start_line, got[0].end_line) == lines


def _keep(table: dict, key, value, kept: int) -> None:
    """``table[key] = value``, newest last, dropping the oldest past ``kept``."""
    table.pop(key, None)
    if len(table) >= kept:
        del table[next(iter(table))]
    table[key] = value


# the files this run parsed after an edit, last first: path -> parse
_EDITED: dict[str, ParsedFile] = {}
_EDITED_KEPT = 4


# without the cache, the texts neutralized in this run -> their neutralized
# text: the base of a patch is the old text of the next file parsed
_NEUTRAL: dict[str, str] = {}
_NEUTRAL_KEPT = 64


# the texts of the image being analyzed, neutralized ahead of their parse
# (``_neutral_ahead``): text -> neutralized text
_AHEAD: dict[str, str] = {}
# below this many characters to neutralize, a child process costs more than it saves
_AHEAD_APART = 100_000


def _neutral_ahead(texts: list[str]) -> None:
    """Neutralize the texts that neither the cache nor this run has a
    neutralization of, the larger ones in a child process (``Beside``)
    while this one does the rest, and keep them in ``_AHEAD`` for
    ``_neutral``. Done only where a second process can run, and for enough
    text (a whole tree not seen before: a first scan, a first check)."""
    if not can_fork():
        return
    from analyzer.neutralize import neutralize

    todo: list[str] = []
    for text in dict.fromkeys(texts):
        got = _known_neutral(text)
        if got is None:
            todo.append(text)
        else:
            _AHEAD[text] = got
    if len(todo) < 2 or sum(map(len, todo)) < _AHEAD_APART:
        return
    mine: list[str] = []
    apart: list[str] = []
    sizes = [0, 0]
    for text in sorted(todo, key=len, reverse=True):  # the larger bin gets none next
        side = 0 if sizes[0] <= sizes[1] else 1
        (mine, apart)[side].append(text)
        sizes[side] += len(text)
    beside = Beside(lambda: [neutralize(t) for t in apart])
    done = [(t, neutralize(t)) for t in mine]
    done += zip(apart, beside.result(), strict=True)
    for text, got in done:
        _AHEAD[text] = got
        _remember_neutral(text, got)


def _neutral(text: str, old: str | None) -> str:
    """The neutralized text: from the cache (or, without it, from this run)
    when this text was seen before, or made from the old text's by
    ``neutralize_edit``. A cached text is used only when it can be a
    neutralization of its text (``cache.load_text`` checks the checksum,
    length and lines)."""
    from analyzer import cache
    from analyzer.neutralize import neutralize, neutralize_edit

    key = cache.text_key(text) if cache.cache_root() is not None else ""
    got = _AHEAD.pop(text, None)
    if got is None:
        got = _known_neutral(text, key)
    if got is not None:
        return got
    old_neutral = _known_neutral(old) if old is not None else None
    got = neutralize_edit(old, old_neutral, text) if old is not None and old_neutral is not None \
        else neutralize(text)
    _remember_neutral(text, got, key)
    return got


def _known_neutral(text: str, key: str = "") -> str | None:
    """The neutralization of ``text`` the cache holds (``key``: its key,
    when the caller has it) or, without the cache, this run; else None."""
    from analyzer import cache

    if cache.cache_root() is None:
        return _NEUTRAL.get(text)
    return cache.load_text(key or cache.text_key(text), text)


def _remember_neutral(text: str, got: str, key: str = "") -> None:
    """Keep ``got`` as the neutralization of ``text``, where ``_known_neutral``
    finds it."""
    from analyzer import cache

    if cache.cache_root() is None:
        _keep(_NEUTRAL, text, got, _NEUTRAL_KEPT)
    else:
        cache.store_text(key or cache.text_key(text), got)


def _finish(image: Image, model: RoleModel, facts: Facts, parse_errors: dict,
            parsed: list[str], reuse: SiteReuse | None = None,
            pages: tuple[dict, FlowContext] | None = None, unparsed: dict | None = None,
            constants: dict[str, int] | None = None, resolver: Resolver | None = None,
            beside: Beside | None = None, split: bool = False, before_fork: int = 1) -> Analysis:
    """Run every check over the sites it declares, each site once, or take
    its findings from the analysis before an edit (``reuse``), or from
    ``beside`` (``_beside``); with ``split``, from both ends
    (``beside.from_both_ends``: a site resolves alike whatever was resolved
    before it), after the first ``before_fork`` sites: in a whole tree the
    first resolves the loads most sites share, which the child then
    inherits; after an edit, the few sites it reached are split from the
    start, each process paying for what they share. ``resolver``: one the
    caller made already for these facts, pages and constants."""
    flows, context = pages if pages is not None else ({}, None)
    if resolver is None:
        resolver = _resolver(facts, flows, constants)
    here: dict[SiteKey, tuple[list[Finding], frozenset]] = {}
    order: list[SiteKey] = []
    todo: list[tuple[SiteKey, Site, Check]] = []
    reused = 0
    for key, site, check in site_keys(facts):
        order.append(key)
        old = reuse.findings_for(key) if reuse is not None else None
        if old is not None:
            here[key] = old
            reused += 1
        elif beside is None or not check.beside:
            todo.append((key, site, check))

    def find(i: int) -> tuple[list[Finding], frozenset]:
        _key, site, check = todo[i]
        return _find(resolver, site, check, facts)

    resolved, _ = from_both_ends(len(todo), find, first=before_fork, apart=split)
    here.update((key, got) for (key, _s, _c), got in zip(todo, resolved, strict=True))
    apart = beside.result() if beside is not None else {}
    by_site = {key: here[key] if key in here else apart[key] for key in order}
    found_by_rule: dict[str, list[Finding]] = {}
    for key, (found, _deps) in by_site.items():
        found_by_rule.setdefault(key[0], []).extend(found)
    findings: list[Finding] = []
    for rule, check in checks():
        mine = found_by_rule.get(rule.id, [])
        findings.extend(check.combine(mine) if check.combine is not None else mine)
    facts.state = None  # what role-incomplete read: its findings are made, nothing else needs it
    resolver.release()  # nor what was resolved: freed at once, not by the cyclic collector
    return Analysis(
        files=list(image.files),
        model=model,
        facts=facts,
        findings=apply_suppressions(merge_findings(findings), image.files, model,
                                    facts.functions),
        parse_errors=parse_errors,
        parsed=parsed,
        by_site=by_site,
        reused=reused,
        page_flows=flows,
        page_context=context,
        left_out={path: items for path, items in (unparsed or {}).items() if items},
        constants=constants or {},
    )


def _whole(image: Image, base: Analysis, base_image: Image) -> Analysis | None:
    """``_incremental`` with every changed file parsed whole: a file parsed
    in part needs its whole tree after all."""
    global PARSE_EDITED_ALONE
    was, PARSE_EDITED_ALONE = PARSE_EDITED_ALONE, False
    try:
        return _incremental(image, base, base_image)
    finally:
        PARSE_EDITED_ALONE = was


def _error_counts(pf: ParsedFile, before: dict[str, int]) -> dict[str, int]:
    """``error_counts`` of a file; of a file parsed in part, the counts
    before the edit with those of the function parsed (a clean one:
    ``_one_definition``)."""
    if pf.lines is None:
        return error_counts(pf)
    return {**before, **error_counts(pf)} | {"": before.get("", 0)}


def _context_change(image: Image, base_image: Image) -> tuple[bool, dict]:
    """Whether the context files role-incomplete reads changed in their
    code; else the line moves of those whose comments or blanks changed
    (the findings that point into them move)."""
    if image.context.keys() != base_image.context.keys():
        return True, {}
    moves = {}
    for path, text in image.context.items():
        old = base_image.context[path]
        if old != text:
            if not same_code(_encoded(old), _encoded(text)):
                return True, {}
            moves[path] = line_moves(old, text)
    return False, moves


@lru_cache(maxsize=8)
def _encoded(text: str) -> bytes:
    """A context file's bytes, once per text: in git mode one commit's text
    is the next one's base (``same_code`` keeps what it read of each)."""
    return encode(text)


def _incremental(image: Image, base: Analysis, base_image: Image) -> Analysis | None:
    if not reusable(image, base_image):
        return None
    changed = [p for p, text in image.files.items() if base_image.files[p] != text]
    context_changed, context_moves = _context_change(image, base_image)
    if not changed and not context_changed and not context_moves:
        return base
    moves = {p: line_moves(base_image.files[p], image.files[p]) for p in changed}
    parsed = [_parse_edited(p, image.files[p], base_image.files[p], base, moves[p]) for p in changed]
    facts = collect_incremental(parsed, base.facts, moves)
    if facts is None:
        return None if all(pf.lines is None for pf in parsed) else _whole(image, base, base_image)
    facts.state = _state_view(image, parsed, base.model, {p: base_image.files[p] for p in changed})
    parse_errors = dict(base.parse_errors)
    parse_errors.update((pf.path, _error_counts(pf, base.parse_errors.get(pf.path, {})))
                        for pf in parsed)
    # what pages are, which functions exist and the macros' values, read
    # again only from the files the edit changed where they may differ
    slots = set(base.model.slots)
    pages_alike = facts.functions.keys() == base.facts.functions.keys() and all(
        context_alike(base_image.files[p], image.files[p], slots) for p in changed)
    context = base.page_context if pages_alike else _page_context(image, facts, base.model)
    if context != base.page_context or not base.page_flows:
        return None  # what pages are, or which functions exist, changed
    macros_alike = all(defines_alike(base_image.files[p], image.files[p]) for p in changed)
    constants = base.constants if macros_alike else _constants(image)
    if constants != base.constants:
        return None  # a macro's value changed: so may every term that names it
    flows = dict(base.page_flows)
    flows.update(file_flows(parsed, context, set(base.model.slots), base.page_flows))
    if any(flows[pf.path] is None for pf in parsed):
        return _whole(image, base, base_image)  # the file's flow needs its whole tree
    tested, before = tested_fields(facts), tested_fields(base.facts)
    retested = {s for s in tested.keys() | before.keys() if tested.get(s) != before.get(s)}
    resolver = _resolver(facts, flows, constants) if retested else None
    if resolver is not None and retested - resolver.page_slots():
        return None  # a condition tests another field of a context role: every load of it changes
    reuse = SiteReuse(base.facts, base.by_site, facts, set(changed), {**context_moves, **moves},
                      pages_changed=not all(flows[p].same_flow(base.page_flows.get(p)) for p in changed),
                      context_changed=context_changed,
                      facts_alike=same_facts(base.facts, facts, set(changed), moves),
                      facts_only={rule.id for rule, check in checks() if not check.reads_code})
    unparsed = dict(base.left_out)
    unparsed.update((pf.path, left_out(pf)) for pf in parsed)
    # the sites the edit reached, from both ends from the first one: there
    # is no role-incomplete child here
    return _finish(image, base.model, facts, parse_errors, changed, reuse, pages=(flows, context),
                   unparsed=unparsed, constants=constants, resolver=resolver, split=True,
                   before_fork=0)
