"""The analysis after an edit, from the analysis before it.

What an edit did not touch is reused instead of being made again: the facts
of the files it did not change and of the functions whose text it did not
change (``collect_incremental``), and the findings of the sites none of
whose facts changed (``SiteReuse``). Both are moved to the lines the edit
moved them to by one ``LineMover``, built from ``line_moves``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from analyzer.cparse import ParsedFile
from analyzer.facts.collection import canonical_order, declare, execute
from analyzer.facts.records import CallSite, Compare, Exit, Facts, FuncInfo, Phi, Store
from analyzer.findings import Finding
from analyzer.nodes import node_of
from analyzer.record import replace
from analyzer.resolve.deps import CONTEXT
from analyzer.sequences import common_prefix
from analyzer.terms import (
    And,
    CompareCond,
    Const,
    Eq,
    Ite,
    Mask,
    Named,
    Not,
    Opaque,
    OpaqueCond,
    Or,
    Origin,
    Ref,
    Scalar,
    Step,
    Truthy,
    Unknown,
    Value,
)

Moves = dict[str, Mapping[int, int]]  # file -> {old line: new line} for the lines an edit kept


class LineMoves(Mapping[int, int]):
    """Old line -> new line (1-based) for the lines an edit kept: the common
    head and tail of the two texts by arithmetic (most of a file, which a
    table of every line cost milliseconds to fill), the middle as matched."""

    __slots__ = ("head", "middle", "old_len", "shift", "tail_from")

    def __init__(self, head: int, tail: int, old_len: int, new_len: int,
                 middle: dict[int, int]) -> None:
        self.head = head  # lines 1..head are where they were
        self.tail_from = old_len - tail + 1  # and lines tail_from..old_len moved by shift
        self.old_len = old_len
        self.shift = new_len - old_len
        self.middle = middle

    def get(self, line, default=None):
        if type(line) is int:
            if 1 <= line <= self.head:
                return line
            if self.tail_from <= line <= self.old_len:
                return line + self.shift
        return self.middle.get(line, default)

    def __getitem__(self, line: int) -> int:
        got = self.get(line)
        if got is None:
            raise KeyError(line)
        return got

    def __iter__(self):
        yield from range(1, self.head + 1)
        yield from self.middle
        yield from range(self.tail_from, self.old_len + 1)

    def __len__(self) -> int:
        return self.head + len(self.middle) + self.old_len + 1 - self.tail_from

    def first_moved(self) -> int:
        """The first old line the edit did not keep in place: the one after
        the common head (the middle starts with a line that differs, and
        a tail in place would make the texts one)."""
        return self.head + 1


def line_moves(old: str, new: str) -> LineMoves:
    """Old line -> new line, for the lines an edit kept (1-based)."""
    a, b = old.splitlines(), new.splitlines()
    # the common head and tail first: a patch's hunks lie between them, and
    # matching only that middle keeps this cheap on an 8000-line file
    head = common_prefix(a, b)
    tail = common_prefix(a[:head - 1:-1] if head else a[::-1], b[:head - 1:-1] if head else b[::-1],
                         min(len(a), len(b)) - head)
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    middle: dict[int, int] = {}
    if mid_a and mid_b:
        matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False)
        for i, j, n in matcher.get_matching_blocks():
            for k in range(n):
                middle[head + i + k + 1] = head + j + k + 1
    return LineMoves(head, tail, len(a), len(b), middle)


class Unmoved(Exception):
    """A step of what is reused sits on a line the edit changed."""


class LineMover:
    """Copies of facts, terms and findings with their steps moved to the
    lines an edit moved them to. A step in a file of ``moves`` on a line the
    edit changed raises ``Unmoved``: what holds it must be made again."""

    def __init__(self, moves: Moves) -> None:
        self.moves = moves
        self._memo: dict[int, object] = {}  # id of a term -> its copy, made once
        self._steps: dict[int, tuple[Step, Step]] = {}  # id of a step -> (it, moved)

    def line(self, file: str, line: int) -> int:
        table = self.moves.get(file)
        if table is None or not line:
            return line
        moved = table.get(line)
        if moved is None:
            raise Unmoved
        return moved

    def step(self, st: Step) -> Step:
        line = self.line(st.file, st.line)
        if line == st.line:
            return st
        got = self._steps.get(id(st))
        if got is None:  # a step many terms share moves once
            got = self._steps[id(st)] = (st, st.at(line))
        return got[1]

    def term(self, obj):
        key = id(obj)
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = self._copy(obj)
        return got

    def _copy(self, t):
        """``t`` with its steps moved: ``t`` itself when none of them moves."""
        move, step = self.term, self.step
        if isinstance(t, Value):
            fields = {p: move(x) for p, x in t.fields.items()}
            if all(fields[p] is x for p, x in t.fields.items()):
                return t
            return _clone(t, fields=fields)
        if isinstance(t, Const | Named | Opaque | Unknown | Scalar | Ref):
            st = step(t.step)
            return t if st is t.step else _clone(t, step=st)
        if isinstance(t, Ite):
            parts = (move(t.cond), move(t.then), move(t.other), step(t.step))
            if _same(parts, (t.cond, t.then, t.other, t.step)):
                return t
            return _clone(t, cond=parts[0], then=parts[1], other=parts[2], step=parts[3])
        if isinstance(t, Truthy):
            inner = move(t.term)
            return t if inner is t.term else _clone(t, term=inner)
        if isinstance(t, Not):
            inner = move(t.cond)
            return t if inner is t.cond else _clone(t, cond=inner)
        if isinstance(t, And | Or):
            parts = tuple(move(p) for p in t.parts)
            return t if _same(parts, t.parts) else _clone(t, parts=parts)
        if isinstance(t, Eq):
            left, right = move(t.left), move(t.right)
            return t if left is t.left and right is t.right else _clone(t, left=left, right=right)
        return t  # OpaqueCond and anything without a step

    def fact(self, item: CallSite | Store | Compare | Phi | Exit) -> CallSite | Store | Compare | Phi | Exit:
        """``item`` with its steps moved; ``item`` itself when none moves."""
        move = self.term
        if isinstance(item, CallSite):
            args = [move(a) for a in item.args]
            st, cond = self.step(item.step), move(item.cond)
            if st is item.step and cond is item.cond and _same(args, item.args):
                return item
            return _clone(item, args=args, step=st, cond=cond)
        if isinstance(item, Store):
            part = item.part
            if isinstance(part, Mask):
                moved = move(part.value) if part.value is not None else None
                if moved is not part.value:
                    part = _clone(part, value=moved)
            elif part is not None:
                part = move(part)
            value = move(item.value) if item.value is not None else None
            st, cond = self.step(item.step), move(item.cond)
            if st is item.step and cond is item.cond and value is item.value and part is item.part:
                return item
            return _clone(item, value=value, step=st, cond=cond, part=part)
        if isinstance(item, Compare):
            left, right = move(item.left), move(item.right)
            st, cond = self.step(item.step), move(item.cond)
            if st is item.step and cond is item.cond and left is item.left and right is item.right:
                return item
            return _clone(item, left=left, right=right, step=st, cond=cond)
        if isinstance(item, Exit):
            st, cond = self.step(item.step), move(item.cond)
            if st is item.step and cond is item.cond:
                return item
            return _clone(item, cond=cond, step=st)
        alternatives = [(move(c), move(v)) for c, v in item.alternatives]
        st = self.step(item.step)
        if st is item.step and all(a is c and b is v for (a, b), (c, v)
                                   in zip(alternatives, item.alternatives, strict=True)):
            return item
        return _clone(item, alternatives=alternatives, step=st)

    def finding(self, f: Finding) -> Finding:
        def node(n):
            st = getattr(n, "step", None)
            return node_of(self.step(st)) if st is not None else n

        return replace(
            f,
            line=self.line(f.file, f.line),
            trace=[replace(t, line=self.line(t.file, t.line)) for t in f.trace],
            related=[self.step(st) for st in f.related],
            graph_path=[node(n) for n in f.graph_path],
            suppressed=None,
        )


_new_object = object.__new__


def _clone(obj, **changes):
    """A copy of a record or term with ``changes``, made without its
    ``__init__``: a frozen record's sets each field through
    ``object.__setattr__``, the hot spot of moving a file's facts."""
    made = _new_object(type(obj))
    state = made.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return made


def _same(made, was) -> bool:
    """Whether every part made is the part it was made from."""
    return all(a is b for a, b in zip(made, was, strict=True))


# ---- facts -----------------------------------------------------------------


def _signature(info: FuncInfo) -> tuple:
    """What callers depend on: arguments bind by position, so names may change."""
    return (info.returns_role, tuple(p.role_type for p in info.params))


def collect_incremental(changed: list[ParsedFile], base: Facts, moves: Moves | None = None) -> Facts | None:
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
    defs = declare(changed, facts)
    if any(pf.lines is not None for pf in changed) and not _whole_files(facts, base, changed, defs, moves):
        return None
    old = {n: _signature(i) for n, i in base.functions.items() if i.file in paths}
    new = {n: _signature(i) for n, i in facts.functions.items() if i.file in paths}
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
    first = {path: _first_moved(table) for path, table in moves.items()}
    in_place = set()
    parsed_names = {fd.name for _pf, fd in defs}
    for name, now in facts.functions.items():
        if now.file not in paths:
            continue
        was = base.functions[name]
        if was.digest == now.digest and was.file in moves and not was.not_analyzed:
            if 0 < was.line <= was.end_line < first[was.file]:
                # above the first line the edit moved: every step of it (all
                # in its definition) is where it was, its facts are its facts
                in_place.add(name)
                now.returns, now.defines_fields, now.role_flow = \
                    was.returns, was.defines_fields, was.role_flow
            else:  # only the steps of the function's own file move
                moved[name] = LineMover({was.file: moves[was.file]})
    keep |= in_place
    by_func: dict[str, list] = {}
    for items in (base.calls, base.stores, base.compares, base.phis.values(), base.exits):
        for item in items:
            owner = item.caller if isinstance(item, CallSite) else item.func
            if owner in keep:
                _enter(facts, item)
            elif owner in moved:
                by_func.setdefault(owner, []).append(item)
    for name in [n for n, i in facts.functions.items() if i.file in paths and n not in parsed_names]:
        # a function of a file parsed in part (``parse_lines``), outside the
        # lines parsed: its text is as it was, its facts are its facts
        if name in in_place:
            continue
        try:
            _reuse_moved(facts, base.functions[name], by_func.get(name, []), moved[name])
        except (Unmoved, KeyError):
            return None  # it cannot be executed again without its tree
    for pf, fd in defs:
        if fd.name in in_place:
            continue
        mover = moved.get(fd.name)
        if mover is not None:
            try:
                _reuse_moved(facts, base.functions[fd.name], by_func.get(fd.name, []), mover)
                continue
            except Unmoved:
                pass  # a line it reads was edited: execute it again
        execute(pf, fd, facts)
    canonical_order(facts)
    return facts


def edited_lines(base: Facts, path: str, moves: Mapping[int, int]) -> tuple[int, int] | None:
    """The new lines (first, last) of the one function of ``path`` that
    holds every line an edit changed, from its unchanged first line to its
    unchanged last one; None when the edit reaches outside a function (a
    declaration, a macro, two functions), or the file holds role globals
    (executed from the whole file's tree)."""
    if not isinstance(moves, LineMoves) or path in base.global_files.values():
        return None
    for info in base.functions.values():
        if info.file == path and 0 < info.line <= moves.head and info.end_line >= moves.tail_from:
            if info.not_analyzed:
                return None
            return info.line, info.end_line + moves.shift
    return None


def _whole_files(facts: Facts, base: Facts, changed: list[ParsedFile], defs: list,
                 moves: Moves) -> bool:
    """Complete ``facts.functions`` where a changed file was parsed in part
    (``edited_lines``): the functions outside the lines parsed are the
    base's, on the lines the edit moved them to, in the file's order, as
    ``declare`` enters a file parsed whole. False when the part parsed is
    not the one function it was for (the edit renamed it)."""
    declared: dict[str, FuncInfo] = {}
    for _pf, fd in defs:
        declared[fd.name] = facts.functions.pop(fd.name)
    for pf in changed:
        if pf.lines is None:
            for owner, fd in defs:
                if owner is pf:
                    facts.functions[fd.name] = declared.pop(fd.name)
            continue
        table = moves.get(pf.path)
        if table is None:
            return False
        for name, info in base.functions.items():
            if info.file != pf.path or name in facts.functions:
                continue
            if name in declared:
                facts.functions[name] = declared.pop(name)
            else:
                line, end = table.get(info.line), table.get(info.end_line)
                if line is None or end is None or info.not_analyzed:
                    return False
                facts.functions[name] = replace(info, line=line, end_line=end)
    return not declared


def _first_moved(table: Mapping[int, int]) -> int:
    """The first old line an edit did not keep in place (moved or changed)."""
    if isinstance(table, LineMoves):
        return table.first_moved()
    k = 1
    while table.get(k) == k:
        k += 1
    return k


def _enter(facts: Facts, item: CallSite | Store | Compare | Phi | Exit) -> None:
    if isinstance(item, CallSite):
        facts.calls.append(item)
    elif isinstance(item, Exit):
        facts.exits.append(item)
    elif isinstance(item, Store):
        facts.stores.append(item)
    elif isinstance(item, Compare):
        facts.compares.append(item)
    else:
        facts.phis[item.id] = item


def _reuse_moved(facts: Facts, was: FuncInfo, items: list, mover: LineMover) -> None:
    """Enter a function's facts from the base analysis, moved by ``mover``."""
    info = facts.functions[was.name]
    returns = [(mover.term(c), mover.term(v), mover.step(st)) for c, v, st in was.returns]
    made = [mover.fact(item) for item in items]
    # nothing entered before every step moved: all or nothing
    info.returns = returns
    info.defines_fields, info.role_flow = was.defines_fields, was.role_flow
    for item in made:
        _enter(facts, item)


# ---- facts alike but for their lines -------------------------------------------


class _Unalike(Exception):
    """Something in facts the comparison does not know: take them as changed."""


def same_facts(base: Facts, facts: Facts, paths: set[str], moves: Moves) -> set[str]:
    """The functions of the changed files whose text changed but whose
    facts did not: equal term for term and record for record, whatever
    their ids, with every step on the line its old one moved to, or on a
    line the edit changed (a finding that holds such a step is made again:
    ``LineMover`` refuses it). A statement swapped with an independent
    one, ``true`` written ``1``: what role-mismatch resolves is as it was."""
    old_items, new_items = _items_by_func(base, paths), _items_by_func(facts, paths)
    out = set()
    for name, now in facts.functions.items():
        was = base.functions.get(name)
        if (now.file not in paths or was is None or was.digest == now.digest
                or was.file != now.file or was.not_analyzed or now.not_analyzed):
            continue
        try:
            old_shape, old_lines = _shape(was, old_items.get(name, []))
            new_shape, new_lines = _shape(now, new_items.get(name, []))
        except _Unalike:
            continue
        table = moves.get(now.file, {})
        if old_shape == new_shape and len(old_lines) == len(new_lines) and all(
                _moved_to(old, new, table, now.file) for old, new in zip(old_lines, new_lines, strict=True)):
            out.add(name)
    return out


def _moved_to(old: tuple, new: tuple, table: dict[int, int], file: str) -> bool:
    """Whether a step (file, line, column, text) is where the edit moved it:
    on the line its old line moved to, as it was; or its old line is one the
    edit changed (a finding that holds it is made again, so what it says
    there may differ)."""
    if old[0] != file or not old[1]:
        return old == new
    moved = table.get(old[1])
    return moved is None or (moved == new[1] and old[2:] == new[2:])


def _items_by_func(facts: Facts, paths: set[str]) -> dict[str, list]:
    files = {n for n, info in facts.functions.items() if info.file in paths}
    out: dict[str, list] = {}
    for items in (facts.calls, facts.stores, facts.compares, facts.phis.values(), facts.exits):
        for item in items:
            owner = item.caller if isinstance(item, CallSite) else item.func
            if owner in files:
                out.setdefault(owner, []).append(item)
    return out


def _shape(info: FuncInfo, items: list) -> tuple[tuple, list[tuple]]:
    """A function's facts without their ids (each the rank of the id among
    the function's) and where their steps are (listed apart, in the order
    met: (file, line, column, text))."""
    ranks = {item.id: k for k, item in enumerate(sorted(items, key=lambda i: i.id))}
    lines: list[tuple] = []
    memo: dict[int, object] = {}

    def step(st: Step) -> tuple:
        lines.append((st.file, st.line, st.col, st.text))
        return (st.file, st.function, st.kind)

    def origin(o: Origin) -> tuple:
        if o.kind in ("call", "phi") and o.site in ranks:
            return (o.kind, o.name if o.kind == "call" else "", o.func, ranks[o.site], o.sub, o.via)
        return (o.kind, o.name, o.func, o.site, o.sub, o.via)

    def term(t):
        got = memo.get(id(t))
        if got is None:
            got = memo[id(t)] = _term_shape(t, term, step, origin, ranks)
        return got

    records = []
    for item in sorted(items, key=lambda i: i.id):
        if isinstance(item, CallSite):
            records.append(("call", item.caller, item.callee, tuple(map(term, item.args)),
                            step(item.step), term(item.cond)))
        elif isinstance(item, Store):
            records.append(("store", item.func, item.slot, term(item.value), item.path,
                            step(item.step), term(item.cond), term(item.part)))
        elif isinstance(item, Compare):
            records.append(("compare", item.func, term(item.left), term(item.right),
                            tuple(item.fields) if item.fields is not None else None,
                            step(item.step), item.left_text, item.right_text, term(item.cond)))
        elif isinstance(item, Phi):
            records.append(("phi", item.func, tuple((term(c), term(v)) for c, v in item.alternatives),
                            step(item.step)))
        elif isinstance(item, Exit):
            records.append(("exit", item.func, term(item.cond), item.text,
                            ranks.get(item.call, item.call), step(item.step)))
        else:
            raise _Unalike
    returns = tuple((term(c), term(v), step(st)) for c, v, st in info.returns)
    lines += [(info.file, info.line, 0, ""), (info.file, info.end_line, 0, "")]
    head = (info.returns_role, tuple((p.name, p.index, p.role_type) for p in info.params),
            info.defines_fields, info.role_flow)
    return (head, returns, tuple(records)), lines


def _term_shape(t, term, step, origin, ranks) -> object:
    if t is None or isinstance(t, str | int | bool):
        return t
    if isinstance(t, Value):
        return ("value", t.type, tuple((p, term(x)) for p, x in t.fields.items()), t.fresh)
    if isinstance(t, Const):
        return ("const", t.value, step(t.step))
    if isinstance(t, Named):
        return ("named", t.name, step(t.step))
    if isinstance(t, Opaque):
        return ("opaque", t.text, step(t.step))
    if isinstance(t, Unknown):
        return ("unknown", t.why, step(t.step))
    if isinstance(t, Scalar):
        return ("scalar", t.func, t.name, step(t.step))
    if isinstance(t, Ref):
        return ("ref", origin(t.origin), t.path, step(t.step))
    if isinstance(t, Ite):
        return ("ite", term(t.cond), term(t.then), term(t.other), step(t.step))
    if isinstance(t, Truthy):
        return ("truthy", term(t.term), t.path)
    if isinstance(t, Not):
        return ("not", term(t.cond))
    if isinstance(t, And | Or):
        return (type(t).__name__, tuple(map(term, t.parts)))
    if isinstance(t, Eq):
        return ("eq", term(t.left), term(t.right))
    if isinstance(t, CompareCond):
        return ("compare-cond", t.text, ranks.get(t.site, t.site), t.equal)
    if isinstance(t, OpaqueCond):
        return ("opaque-cond", t.text)
    if isinstance(t, Mask):
        return ("mask", term(t.value), t.inverted)
    raise _Unalike


# ---- findings --------------------------------------------------------------


class SiteReuse:
    """What an analysis after an edit may take from the analysis before it:
    the findings of a site none of whose facts changed, moved to the lines
    the edit moved them to. ``by_site``, the base analysis's, holds per site
    its findings and the facts they were resolved from."""

    def __init__(self, base_facts: Facts, by_site: dict, facts: Facts, paths: set[str],
                 moves: Moves, pages_changed: bool = False, context_changed: bool = False,
                 facts_alike: set[str] | frozenset[str] = frozenset(),
                 facts_only: set[str] | frozenset[str] = frozenset()) -> None:
        old = {n: i for n, i in base_facts.functions.items() if i.file in paths}
        new = {n: i for n, i in facts.functions.items() if i.file in paths}
        changed = {n for n in old.keys() | new.keys()
                   if getattr(old.get(n), "digest", None) != getattr(new.get(n), "digest", None)}
        self.dirty = _dirty(base_facts, facts, changed, pages_changed, context_changed)
        # for the sites of the rules that read facts only, never code
        # (``facts_only``: ``Check.reads_code``), a function whose facts an
        # edit left alike (``same_facts``) is as it was
        self.dirty_facts = (_dirty(base_facts, facts, changed - facts_alike, pages_changed,
                                   context_changed) if facts_alike & changed else self.dirty)
        self.facts_only = facts_only
        self.by_site = by_site
        self.mover = LineMover(moves)

    def findings_for(self, key) -> tuple[list[Finding], frozenset] | None:
        found = self.by_site.get(key)
        dirty = self.dirty_facts if key[0] in self.facts_only else self.dirty
        if found is None or found[1] & dirty:
            return None
        try:
            return ([self.mover.finding(f) for f in found[0]], found[1])
        except Unmoved:  # a line of the trace is one the edit changed
            return None


def _dirty(base_facts: Facts, facts: Facts, changed: set[str], pages_changed: bool,
           context_changed: bool) -> set:
    """The dependencies an edit changed, when it changed the functions ``changed``."""
    callees = {c.callee for c in base_facts.calls if c.caller in changed}
    callees |= {c.callee for c in facts.calls if c.caller in changed}
    slots = {s.slot for s in base_facts.stores if s.func in changed}
    slots |= {s.slot for s in facts.stores if s.func in changed}
    dirty = ({("fn", n) for n in changed} | {("callers", n) for n in callees}
             | {("slot", n) for n in slots})
    if pages_changed:  # a load may meet other stores now
        dirty |= {("slot", s.slot) for s in facts.stores}
    if context_changed:
        dirty.add(CONTEXT)
    return dirty


_UNION_DEF = re.compile(r"union\s+\w+\s*\{")  # a literal head searches fast
_BRACE = re.compile(r"[{}]")


def union_defs(text: str) -> list[str]:
    """The text of every union definition (the role model is read from
    them: an edit that changes one may change the model)."""
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
