"""Where pages live: the containers a role load reads and a role store fills.

A role stored into a page (``sp->role = role``) is only ever compared with
the loads that read pages out of the containers that page is put in: the
shadow-page hash (``mmu_page_hash``), the TDP MMU roots list
(``tdp_mmu_roots``), root slots (``root.hpa``, ``prev_roots[]``,
``pae_root[]``), the child of a parent spte. The same holds for the roles of
the MMU contexts (``root_mmu``, ``guest_mmu``, ``nested_mmu``).

This module follows pointers, flow-insensitively, through the parsed
functions: assignments, call arguments into parameters, returns into call
results, list insertions and iterations (the iterator macros defined in the
files are expanded down to the list primitives named in
rules/containers.toml), stores through pointers and ``swap``. Values are
sets of labels: the struct members a pointer was read from (``field``
labels, named by their last member: ``&kvm->arch.mmu_page_hash[i]`` is
``mmu_page_hash``) and the globals. A member read through a page pointer
(``sp->spt``) is the page itself: its address is how the page is found
again (``__pa(sp->spt)`` is a root's hpa). A call to a function the files do
not define passes its arguments' labels on to its result (``to_shadow_page``,
``__pa``, ``list_first_or_null_rcu``).

A load reads the labels of the pointer it goes through; a store fills the
labels of its page pointer and those of every container the page reaches.
A load sees a store when the two meet. Where either set is empty (nothing
known) every store is seen, as before. Nothing here depends on function
names; the primitives of rules/containers.toml are kernel macros defined
outside the MMU files.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from analyzer.cparse import FunctionDef, Node, ParsedFile, beyond_limits, functions, loop_macro_head
from analyzer.facts.syntax import split_args
from analyzer.ruledata import rule_file

_IDENT = re.compile(r"[A-Za-z_]\w*$")
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)]*)\)((?:[^\n]*\\\n)*[^\n]*)", re.M)
_CAST = re.compile(r"^\(\s*(?:const\s+)?(?:(?:struct|union)\s+\w+\s*\**|\w+\s*\*+)\s*\)\s*")
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def primitives() -> dict[str, list[str]]:
    with rule_file("containers.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {k: list(v) for k, v in data.items() if isinstance(v, list)}


def _matches(name: str, kind: str) -> bool:
    return any(re.fullmatch(p, name) for p in primitives().get(kind, []))


# Node ids: ("var", func, name), ("ret", func), ("field", member),
# ("global", name). A label is a field or global node id.


@dataclass
class FileFlow:
    """What one file's functions do with pointers (data only, so an
    analysis after a patch recomputes it for the changed files alone)."""

    edges: list[tuple[tuple, tuple]] = field(default_factory=list)  # (from node, to node)
    # (page node, container node): the page is put into the container
    inserts: list[tuple[tuple, tuple]] = field(default_factory=list)
    # (func, pointer text) -> node the pointer's value is, for role loads and stores
    pointers: dict[tuple[str, str], list[tuple]] = field(default_factory=dict)
    params: dict[str, list[str]] = field(default_factory=dict)  # func -> parameter names
    heads: set[tuple] = field(default_factory=set)  # nodes used as list heads


class PageFlow:
    """The solved flow of every file: labels reaching each node."""

    def __init__(self, flows: dict[str, FileFlow]) -> None:
        self.flows = flows
        succ: dict[tuple, set[tuple]] = defaultdict(set)
        pointers: dict[tuple[str, str], list[tuple]] = {}
        for flow in flows.values():
            for a, b in flow.edges:
                succ[a].add(b)
            for key, nodes in flow.pointers.items():
                pointers.setdefault(key, []).extend(nodes)
        self.pointers = pointers
        self.heads = _head_fields({h for flow in flows.values() for h in flow.heads}, succ)
        inserts = [i for flow in flows.values() for i in flow.inserts]
        for page, head in inserts:
            succ[head].add(page)  # the page is an element of what the head names
        # a list head stands for itself: what is read from it is an element
        # of that container, whatever was put into it
        labels = _propagate(succ, list(succ), heads=self.heads)
        self._labels = labels

    def labels(self, node: tuple) -> frozenset:
        own = {node} if node in self.heads else set()
        return frozenset(own | self._labels.get(node, set()))

    def of(self, func: str, via: str) -> frozenset:
        """Labels of the pointer a role load or store in ``func`` goes
        through (``sp`` in ``sp->role``): the containers it was read from,
        the allocations it was made by."""
        out: set = set()
        for node in self.pointers.get((func, via), []):
            out |= self.labels(node)
        return frozenset(out)


def _head_fields(nodes: set[tuple], succ: dict[tuple, set[tuple]]) -> set[tuple]:
    """The struct members that are list heads: those named as a head, and
    those a head variable or parameter was set from (``sp_list =
    &kvm->arch.mmu_page_hash[i]``, passed on as an argument)."""
    pred: dict[tuple, set[tuple]] = defaultdict(set)
    for a, bs in succ.items():
        for b in bs:
            pred[b].add(a)
    out = {n for n in nodes if n[0] == "field"}
    seen = set(nodes)
    stack = [n for n in nodes if n[0] == "var"]
    while stack:
        n = stack.pop()
        for m in pred.get(n, ()):
            if m in seen:
                continue
            seen.add(m)
            if m[0] == "field":
                out.add(m)
            elif m[0] == "var":
                stack.append(m)
    return out


def _propagate(succ: dict[tuple, set[tuple]], start: list, labels: dict | None = None,
               heads: set | frozenset = frozenset()) -> dict[tuple, set]:
    """Containers reaching each node (a list head is its own): a worklist
    over the graph, each node's set only growing."""
    labels = labels if labels is not None else defaultdict(set)
    for n in heads:
        labels[n].add(n)
    pending = list(start)
    while pending:
        n = pending.pop()
        got = labels.get(n)
        if not got:
            continue
        for m in succ.get(n, ()):
            if m in heads:
                continue
            before = len(labels[m])
            labels[m] |= got
            if len(labels[m]) != before:
                pending.append(m)
    return labels


# ---------------------------------------------------------------------------
# collecting one file


def file_flow(pf: ParsedFile, slots: set[str], page_types: set[str],
              defined: set[str], macros: dict[str, tuple[list[str], str]]) -> FileFlow:
    """The pointer facts of one file. ``slots``: member names of role type;
    ``page_types``: struct names whose members are the page itself;
    ``defined``: functions the analyzed files define; ``macros``: iterator
    macros (name -> (params, body))."""
    flow = FileFlow()
    for fd in functions(pf):
        if beyond_limits(pf, fd.node) is None:  # else reported as not analyzed
            _Function(pf, fd, flow, slots, page_types, defined, macros).run()
    return flow


def macros_of(text: str) -> dict[str, tuple[list[str], str]]:
    """Function-like macros of a file's text: name -> (parameters, body)."""
    out = {}
    for m in _DEFINE.finditer(text):
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        out[m.group(1)] = (params, m.group(3).replace("\\\n", " "))
    return out


def page_types_of(texts: list[str], slots: set[str]) -> set[str]:
    """Struct types of the pointers that list primitives insert (``&sp->link``
    into a list head) and that hold a role slot: the page structs."""
    out: set[str] = set()
    for text in texts:
        for m in re.finditer(r"\bstruct\s+(\w+)\s*\*", text):
            out.add(m.group(1))
    # keep the struct types declared as pointers whose role member is written
    written = set()
    for text in texts:
        for m in re.finditer(r"\b(\w+)\s*->\s*(\w+)\s*=[^=]", text):
            if m.group(2) in slots:
                written.add(m.group(1))
    types = set()
    for text in texts:
        for m in re.finditer(r"\bstruct\s+(\w+)\s*\*\s*(\w+)\s*[;=,)]", text):
            if m.group(2) in written:
                types.add(m.group(1))
    inserted = set()
    for text in texts:
        for m in re.finditer(r"\b(\w+)\s*\(\s*&\s*(\w+)\s*->\s*\w+\s*,", text):
            if _matches(m.group(1), "insert"):
                inserted.add(m.group(2))
    for text in texts:
        for m in re.finditer(r"\bstruct\s+(\w+)\s*\*\s*(\w+)\s*[;=,)]", text):
            if m.group(2) in inserted and m.group(1) in types:
                out.add(m.group(1))
    return {t for t in out if t in types}


def _strip(text: str) -> str:
    text = text.strip()
    while True:
        before = text
        text = text.lstrip("&*").strip()
        text = _CAST.sub("", text)
        if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
            text = text[1:-1].strip()
        if text == before:
            return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


class _Function:
    def __init__(self, pf: ParsedFile, fd: FunctionDef, flow: FileFlow, slots: set[str],
                 page_types: set[str], defined: set[str], macros: dict) -> None:
        self.pf, self.fd, self.flow = pf, fd, flow
        self.func = fd.name
        self.slots, self.page_types, self.defined, self.macros = slots, page_types, defined, macros
        self.members = _members(pf)
        self.locals: dict[str, str] = {name: type_text for type_text, name in fd.params if name}
        flow.params[self.func] = [name for _t, name in fd.params]

    def var(self, name: str) -> tuple:
        if name in self.locals:
            return ("var", self.func, name)
        return ("global", name)

    def is_page(self, name: str) -> bool:
        t = self.locals.get(name, "")
        m = re.search(r"struct\s+(\w+)\s*\*", t)
        return bool(m and m.group(1) in self.page_types)

    def run(self) -> None:
        stack = [self.fd.body]
        while stack:
            n = stack.pop()
            t = n.type
            if t == "declaration":
                self.declaration(n)
            elif t == "assignment_expression":
                self.assignment(n)
            elif t == "return_statement":
                expr = next((c for c in n.named_children), None)
                if expr is not None:
                    self.flows_to(self.value(expr), ("ret", self.func))
            elif t == "while_statement":
                head = loop_macro_head(self.pf, n)
                if head is not None:
                    self.loop_macro(head)
            elif t == "call_expression":
                self.call(n)  # in a condition or a statement of its own
            if t == "field_expression":
                self.note_pointer(n)
            stack.extend(reversed(n.children))

    # ---- statements ------------------------------------------------------

    def declaration(self, n: Node) -> None:
        type_node = n.child_by_field_name("type")
        base = self.pf.text_of(type_node) if type_node is not None else ""
        for d in n.children_by_field_name("declarator"):
            stars = self.pf.text_of(d).split("=")[0].count("*")
            name_node = d
            while name_node is not None and name_node.type != "identifier":
                name_node = (name_node.child_by_field_name("declarator")
                             or next((c for c in name_node.named_children
                                      if c.type in ("identifier", "pointer_declarator",
                                                    "array_declarator")), None))
            if name_node is None:
                continue
            name = self.pf.text_of(name_node)
            self.locals[name] = base + " " + "*" * stars
            if d.type == "init_declarator":
                value = d.child_by_field_name("value")
                if value is not None:
                    self.flows_to(self.value(value), ("var", self.func, name))

    def assignment(self, n: Node) -> None:
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if left is None or right is None:
            return
        src = self.value(right)
        target = self.target(left)
        if target is None:
            return
        kind, node = target
        if kind == "into":  # *p = v, p[i] = v: v is put where p points
            for label_node in node:
                for s in src:
                    self.flow.inserts.append((s, label_node))
                    self.flow.edges.append((s, label_node))
        else:
            self.flows_to(src, node)

    def target(self, left: Node) -> tuple[str, object] | None:
        t = left.type
        if t == "identifier":
            return ("to", self.var(self.pf.text_of(left)))
        if t == "pointer_expression" or t == "subscript_expression":
            inner = left.child_by_field_name("argument") or left.child_by_field_name("array")
            if inner is None:
                return None
            if t == "subscript_expression" and inner.type == "field_expression":
                return ("to", self.member_node(inner))
            return ("into", self.value(inner))
        if t == "field_expression":
            base = left.child_by_field_name("argument")
            root = _chain_root(base)
            if root is not None and root.type == "identifier":
                name = self.pf.text_of(root)
                if self.is_page(name):
                    return None  # writing a member of a page does not move the page
                if name in self.locals and "*" not in self.locals[name] and base is root:
                    return ("to", self.var(name))  # a member of a local struct
            return ("to", self.member_node(left))
        if t == "parenthesized_expression":
            inner = next((c for c in left.named_children), None)
            return self.target(inner) if inner is not None else None
        return None

    def loop_macro(self, head: str) -> None:
        m = re.match(r"(\w+)\s*\((.*)\)\s*$", head, re.S)
        if m is None:
            return
        self.expand(m.group(1), split_args(m.group(2)), 0)

    def expand(self, name: str, args: list[str], depth: int) -> None:
        if depth > 8:
            return
        if _matches(name, "iterate"):
            if len(args) >= 2:
                pos = _strip(args[0])
                if _IDENT.match(pos):
                    head = self.text_value(args[1])
                    self.note_heads(head)
                    self.flows_to(head, self.var(pos))
            return
        spec = self.macros.get(name)
        if spec is None:
            return
        params, body = spec
        subst = dict(zip(params, args, strict=False))
        text = re.sub(r"\b\w+\b", lambda w: f"({subst[w.group()]})" if w.group() in subst
                      else w.group(), body)
        for call in re.finditer(r"\b(\w+)\s*\(", text):
            inner = _balanced_from(text, call.end() - 1)
            if inner is not None and (call.group(1) in self.macros
                                      or _matches(call.group(1), "iterate")):
                self.expand(call.group(1), split_args(inner), depth + 1)
        # `pos = f(...)` inside a for-header
        for assign in re.finditer(r"\(\(?\s*(\w+)\s*\)?\)?\s*=\s*(\w+)\s*\(", text):
            inner = _balanced_from(text, assign.end() - 1)
            if inner is not None and assign.group(1) in self.locals:
                self.flows_to(self.text_value(f"{assign.group(2)}({inner})"),
                              self.var(assign.group(1)))

    # ---- expressions -----------------------------------------------------

    def note_heads(self, values: set[tuple]) -> None:
        self.flow.heads.update(values)

    def flows_to(self, src: set[tuple], dst: tuple) -> None:
        for s in src:
            if s != dst:
                self.flow.edges.append((s, dst))

    def member_node(self, n: Node) -> tuple:
        member = n.child_by_field_name("field")
        return ("field", self.pf.text_of(member) if member is not None else "?")

    def value(self, n: Node | None) -> set[tuple]:
        """Nodes whose labels the expression's value carries."""
        if n is None:
            return set()
        t = n.type
        if t == "identifier":
            name = self.pf.text_of(n)
            if name in self.locals:
                return {("var", self.func, name)}
            if name.isupper() or name in ("NULL", "true", "false") or name in self.members:
                return set()  # a constant, or a member named to a list macro
            return {("global", name)}
        if t in ("parenthesized_expression", "cast_expression", "pointer_expression",
                 "comma_expression"):
            kids = [c for c in n.named_children if c.type != "type_descriptor"]
            return self.value(kids[-1]) if kids else set()
        if t == "subscript_expression":
            return self.value(n.child_by_field_name("argument"))
        if t == "field_expression":
            base = n.child_by_field_name("argument")
            root = _chain_root(base)
            if root is not None and root.type == "identifier":
                name = self.pf.text_of(root)
                if self.is_page(name):
                    return {("var", self.func, name)}
                if name in self.locals and "*" not in self.locals[name] and base is root:
                    return {("var", self.func, name)}
            if base is not None and base.type == "call_expression":
                inner = self.value(base)
                if inner and self.returns_page(base):
                    return inner
            return {self.member_node(n)}
        if t == "conditional_expression":
            kids = n.named_children
            out: set = set()
            for k in kids[1:]:
                out |= self.value(k)
            return out
        if t == "call_expression":
            return self.call(n)
        if t == "binary_expression":
            out = set()
            for k in n.named_children:
                out |= self.value(k)
            return out
        if t == "assignment_expression":
            return self.value(n.child_by_field_name("right"))
        return set()

    def returns_page(self, call: Node) -> bool:
        return True

    def call(self, n: Node) -> set[tuple]:
        fn = n.child_by_field_name("function")
        args_node = n.child_by_field_name("arguments")
        args = [c for c in args_node.named_children] if args_node is not None else []
        name = self.pf.text_of(fn) if fn is not None else ""
        name = " ".join(name.split())
        if name in self.defined:
            vals = [self.value(a) for a in args]
            self.flow.edges.extend(
                (s, ("param", name, i)) for i, v in enumerate(vals) for s in v)
            return {("ret", name)}
        vals = [self.value(a) for a in args]
        if _matches(name, "insert") and len(vals) >= 2:
            self.note_heads(vals[1])
            for page in vals[0]:
                for head in vals[1]:
                    self.flow.inserts.append((page, head))
            return set()
        if _matches(name, "store") and len(args) >= 2:
            target = self.target(args[0])
            if target is not None and target[0] == "into":
                for label_node in target[1]:
                    for s in vals[1]:
                        self.flow.inserts.append((s, label_node))
                        self.flow.edges.append((s, label_node))
            return set()
        if _matches(name, "swap") and len(vals) >= 2:
            a, b = self.target(args[0]), self.target(args[1])
            for tgt, src in ((a, vals[1]), (b, vals[0])):
                if tgt is not None and tgt[0] == "to":
                    self.flows_to(src, tgt[1])
            return set()
        if _matches(name, "element") and vals:
            self.note_heads(vals[0])
        # a call the files do not define hands on what its first argument
        # points at (__pa(x), to_shadow_page(hpa), list_first_or_null_rcu(head, ...))
        return vals[0] if vals else set()

    def text_value(self, text: str) -> set[tuple]:
        """The value of an expression written as text (a macro argument)."""
        text = _strip(text)
        if _IDENT.match(text):
            if text in self.locals:
                return {("var", self.func, text)}
            return set() if text.isupper() or text in self.members else {("global", text)}
        m = re.match(r"(\w+)\s*\(", text)
        if m is not None and _balanced_from(text, m.end() - 1) is not None:
            inner = _balanced_from(text, m.end() - 1) or ""
            name = m.group(1)
            vals = [self.text_value(a) for a in split_args(inner)]
            if _matches(name, "element") and vals:
                self.note_heads(vals[0])
            if name in self.defined:
                for i, v in enumerate(vals):
                    for s in v:
                        self.flow.edges.append((s, ("param", name, i)))
                return {("ret", name)}
            return vals[0] if vals else set()
        chain = re.match(r"\(?\s*(\w+)\s*\)?((?:\s*(?:->|\.)\s*\w+|\s*\[[^\]]*\])+)\s*$", text)
        if chain is not None:
            base, rest = chain.group(1), chain.group(2)
            members = re.findall(r"(?:->|\.)\s*(\w+)", rest)
            if self.is_page(base):
                return {("var", self.func, base)}
            if members:
                return {("field", members[-1])}
        return set()

    def note_pointer(self, n: Node) -> None:
        member = n.child_by_field_name("field")
        if member is None or self.pf.text_of(member) not in self.slots:
            return
        base = n.child_by_field_name("argument")
        if base is None:
            return
        from analyzer.facts import normalize_expr

        key = (self.func, normalize_expr(self.pf.text_of(base)))
        if key not in self.flow.pointers:
            self.flow.pointers[key] = sorted(self.value(base))


def _members(pf: ParsedFile) -> frozenset[str]:
    """Names used as struct members in the file (``link`` in ``sp->link``)."""
    got = pf.__dict__.get("_member_names")
    if got is None:
        got = frozenset(re.findall(r"(?:->|\.)\s*([A-Za-z_]\w*)", pf.text))
        pf.__dict__["_member_names"] = got
    return got


def _chain_root(n: Node | None) -> Node | None:
    while n is not None and n.type in ("field_expression", "subscript_expression",
                                       "parenthesized_expression", "pointer_expression"):
        n = (n.child_by_field_name("argument") or n.child_by_field_name("array")
             or next((c for c in n.named_children), None))
    return n


def _balanced_from(text: str, open_at: int) -> str | None:
    """The text inside the parentheses opening at ``open_at``."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "(":
            depth += 1
        elif text[k] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:k]
    return None


@dataclass(frozen=True)
class FlowContext:
    """What every file's flow depends on beyond its own text: the functions
    the files define, their iterator macros and the page structs."""

    defined: frozenset[str]
    macros: tuple
    page_types: frozenset[str]


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


def solve(flows: dict[str, FileFlow]) -> PageFlow:
    return _link_params({path: _copy(flow) for path, flow in flows.items()})


def _copy(flow: FileFlow) -> FileFlow:
    return FileFlow(list(flow.edges), list(flow.inserts), dict(flow.pointers),
                    dict(flow.params), set(flow.heads))


def _link_params(flows: dict[str, FileFlow]) -> PageFlow:
    """Turn ("param", callee, index) ends into the callee's parameter vars."""
    params: dict[str, list[str]] = {}
    for flow in flows.values():
        params.update(flow.params)
    for flow in flows.values():
        fixed = []
        for a, b in flow.edges:
            if b[0] == "param":
                names = params.get(b[1], [])
                if b[2] >= len(names) or not names[b[2]]:
                    continue
                b = ("var", b[1], names[b[2]])
            fixed.append((a, b))
        flow.edges = fixed
    return PageFlow(flows)
