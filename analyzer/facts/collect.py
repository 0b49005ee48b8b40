"""Collecting role facts: declare the functions, role globals and
loop-macro filters of the files, then execute every function body."""

from __future__ import annotations

import hashlib
import re

from analyzer.cparse import FunctionDef, Node, ParsedFile, functions, loop_macro_head, parse_c
from analyzer.facts.records import CallSite, Compare, Facts, FuncInfo, Param, Phi, Store
from analyzer.roles import RoleModel
from analyzer.terms import (
    TRUE,
    And,
    Const,
    Eq,
    Ite,
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
    step_of,
)

_ROLE_DECL = re.compile(r"\b(?:union|struct)\s+(\w+)")
_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_STATEMENT_ENDS = ("expression_statement", "if_statement", "while_statement", "for_statement",
                   "do_statement", "return_statement", "declaration", "compound_statement",
                   "switch_statement", "function_definition")


def role_type_of(type_text: str, model: RoleModel) -> str | None:
    """The role type named by a C type text, unless it is a pointer."""
    if "*" in type_text:
        return None
    m = _ROLE_DECL.search(type_text)
    if m and model.is_role(m.group(1)):
        return m.group(1)
    return None


def _squash(text: str) -> str:
    return " ".join(text.split())


def normalize_expr(text: str) -> str:
    """Canonical text of an opaque expression: no whitespace, true/false as 1/0."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\btrue\b", "1", text)
    text = re.sub(r"\bfalse\b", "0", text)
    text = re.sub(r"\s+", "", text)
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1]
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def parse_int(text: str) -> int | None:
    text = text.rstrip("uUlL")
    try:
        return int(text, 0)
    except ValueError:
        return None


# ---------------------------------------------------------------------------


def collect(parsed: list[ParsedFile], model: RoleModel) -> Facts:
    """Extract role facts from every function of the parsed files."""
    facts = Facts(model=model)
    defs = _declare(parsed, facts)
    for pf, fd in defs:
        Executor(pf, fd, facts).run()
    _canonical_order(facts)
    return facts


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


_SKIP_IF = re.compile(r"\bif\s*\((?P<cond>.*)\)\s*\{\s*\}\s*else\s*$", re.S)
_MACRO_HOLDERS = frozenset({"translation_unit", "preproc_if", "preproc_ifdef", "preproc_else",
                            "preproc_elif", "preproc_elifdef"})


def loop_filters(pf: ParsedFile) -> dict[str, tuple[tuple[str, ...], str]]:
    """Iterator macros whose definition ends ``if (COND) {} else``: the loop
    body only runs for items where COND is false (kvm's
    ``for_each_gfn_indirect_valid_sp`` skips direct pages that way)."""
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    stack = [pf.root]
    while stack:
        node = stack.pop()
        if node.type == "preproc_function_def":
            name = node.child_by_field_name("name")
            params = node.child_by_field_name("parameters")
            value = node.child_by_field_name("value")
            if name is None or params is None or value is None:
                continue
            body = re.sub(r"\\\n", " ", pf.text_of(value)).strip()
            m = _SKIP_IF.search(body)
            if m and _balanced(m.group("cond")):
                names = tuple(p.strip() for p in pf.text_of(params).strip("()").split(",") if p.strip())
                out[pf.text_of(name)] = (names, m.group("cond"))
        elif node.type in _MACRO_HOLDERS:
            stack.extend(node.named_children)
    return out


def _split_args(text: str) -> list[str]:
    """``a, f(b, c), d`` -> ["a", "f(b, c)", "d"]."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


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
        Executor(pf, fd, facts).run()
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
            ex = Executor(pf, None, facts)
            facts.globals[name] = ex.initializer(rt, value, name)
            facts.global_files[name] = pf.path


class _State:
    """Role locals, scalar locals and role-word locals at one program point."""

    def __init__(self) -> None:
        self.roles: dict[str, Value] = {}
        self.gens: dict[str, int] = {}
        self.scalars: dict[str, object] = {}
        self.words: dict[str, Value] = {}

    def copy(self) -> _State:
        s = _State()
        s.roles = {k: v.copy() for k, v in self.roles.items()}
        s.gens = dict(self.gens)
        s.scalars = dict(self.scalars)
        s.words = {k: v.copy() for k, v in self.words.items()}
        return s


class Executor:
    """Symbolic execution of one function body (or of a global initializer)."""

    def __init__(self, pf: ParsedFile, fd: FunctionDef | None, facts: Facts) -> None:
        self.pf = pf
        self.fd = fd
        self.facts = facts
        self.model = facts.model
        self.func = fd.name if fd else ""
        self.info = facts.functions.get(self.func) if fd else None
        self.state = _State()
        self.pathcond: list[object] = []
        self.seen: set[tuple[int, int]] = set()
        self.role_vars: dict[str, str] = {}  # declared role locals -> type
        self.quiet = False  # reading a macro's condition: register nothing
        self.param_names: set[str] = set()

    # ---- helpers ---------------------------------------------------------

    def step(self, node: Node, kind: str, text: str | None = None) -> Step:
        if text is None:
            text = _squash(self.pf.text_of(node))
        if len(text) > 160:
            text = text[:157] + "..."
        return Step(self.pf.path, self.pf.line_of(node), self.pf.col_of(node), self.func, kind, text)

    def text(self, node: Node) -> str:
        return self.pf.text_of(node)

    def leaves(self, rtype: str) -> list[str]:
        return self.model.leaves(rtype)

    def origin_value(self, rtype: str, origin: Origin, step: Step) -> Value:
        return Value(rtype, {leaf: Ref(origin, origin.path(leaf), step) for leaf in self.leaves(rtype)})

    def zero_value(self, rtype: str, step: Step) -> Value:
        return Value(rtype, {leaf: Const(0, step) for leaf in self.leaves(rtype)}, fresh=True)

    def unknown_value(self, rtype: str, step: Step) -> Value:
        return Value(rtype, {leaf: Unknown("uninitialized", step) for leaf in self.leaves(rtype)}, fresh=True)

    def cond_now(self) -> object:
        if not self.pathcond:
            return TRUE
        if len(self.pathcond) == 1:
            return self.pathcond[0]
        return And(tuple(self.pathcond))

    def mark_role_flow(self) -> None:
        if self.info is not None:
            self.info.role_flow = True

    # ---- entry -----------------------------------------------------------

    def run(self) -> None:
        assert self.fd is not None and self.info is not None
        for p in self.info.params:
            if not p.name:
                continue
            self.param_names.add(p.name)
            if p.role_type:
                self.mark_role_flow()
                st = Step(self.pf.path, self.fd.start_line, 1, self.func, "param",
                          f"parameter {p.name}")
                self.state.roles[p.name] = self.origin_value(
                    p.role_type, Origin("param", p.name, self.func), st)
                self.state.gens[p.name] = 0
                self.role_vars[p.name] = p.role_type
            else:
                self.state.scalars[p.name] = Scalar(self.func, p.name)
        if self.info.returns_role:
            self.mark_role_flow()
        self.exec_block(self.fd.body)

    def initializer(self, rtype: str, node: Node, name: str) -> Value:
        """Value of ``= {0}``, ``= { .f = v, ... }`` or ``= expr``."""
        st = self.step(node, "def")
        if node.type == "initializer_list":
            val = self.zero_value(rtype, st)
            for item in node.named_children:
                if item.type == "initializer_pair":
                    desig = [self.text(c).lstrip(".") for c in item.children_by_field_name("designator")]
                    vnode = item.child_by_field_name("value")
                    if not desig or vnode is None:
                        continue
                    path = ".".join(desig)
                    if path in val.fields:
                        val.fields[path] = self.scalar(vnode, self.step(item, "def"))
                    elif path in self.model.types[rtype].words:
                        pass  # { .word = 0 } is the zero role
            return val
        got = self.role_expr(node)
        if got is not None:
            return got
        word = self.word_expr(node)
        if word is not None:
            return word
        return self.unknown_value(rtype, st)

    # ---- statements ------------------------------------------------------

    def exec_block(self, node: Node) -> bool:
        """Execute statements; True when control cannot fall through."""
        terminated = False
        for child in node.named_children:
            if child.type == "comment":
                continue
            terminated = self.exec_stmt(child)
        return terminated

    def exec_stmt(self, node: Node) -> bool:
        t = node.type
        if t == "compound_statement":
            return self.exec_block(node)
        if t == "declaration":
            self.exec_declaration(node)
            return False
        if t == "expression_statement":
            for child in node.named_children:
                self.exec_expr_stmt(child)
            return False
        if t == "if_statement":
            return self.exec_if(node)
        if t in ("for_statement", "while_statement", "do_statement"):
            body = node.child_by_field_name("body")
            for part in ("initializer", "condition", "update"):
                p = node.child_by_field_name(part)
                if p is not None:
                    self.scan(p)
            if body is not None:
                cond = OpaqueCond("loop")
                skip = self.loop_filter(node) if t == "while_statement" else None
                if skip is not None:
                    cond = And((cond, Not(skip)))
                self.exec_branchy(body, cond)
            return False
        if t == "return_statement":
            self.exec_return(node)
            return True
        if t in ("goto_statement", "continue_statement", "break_statement"):
            return True
        if t == "labeled_statement":
            inner = [c for c in node.named_children if c.type != "statement_identifier"]
            terminated = False
            for c in inner:
                terminated = self.exec_stmt(c)
            return terminated
        if t == "switch_statement":
            cond = node.child_by_field_name("condition")
            if cond is not None:
                self.scan(cond)
            body = node.child_by_field_name("body")
            if body is not None:
                self.exec_branchy(body, OpaqueCond("switch"))
            return False
        if t == "case_statement":
            terminated = False
            for c in node.named_children:
                if c == node.child_by_field_name("value"):
                    continue
                terminated = self.exec_stmt(c)
            return terminated
        # anything else: still look for calls and compares in it
        self.scan(node)
        return False

    def exec_branchy(self, body: Node, cond: object) -> None:
        """A body that may run or not (loops, switch)."""
        before = self.state.copy()
        self.pathcond.append(cond)
        self.exec_stmt(body)
        self.pathcond.pop()
        after = self.state
        self.state = self.merge(cond, after, before, body)

    def exec_if(self, node: Node) -> bool:
        cnode = node.child_by_field_name("condition")
        self.scan(cnode)
        cond = self.cond(cnode)
        before = self.state.copy()
        self.pathcond.append(cond)
        then_term = self.exec_stmt(node.child_by_field_name("consequence"))
        self.pathcond.pop()
        then_state = self.state
        self.state = before
        alt = node.child_by_field_name("alternative")
        else_term = False
        if alt is not None:
            self.pathcond.append(Not(cond))
            inner = [c for c in alt.named_children if c.type != "comment"]
            for c in inner:
                else_term = self.exec_stmt(c)
            self.pathcond.pop()
        else_state = self.state
        if then_term and else_term:
            self.state = else_state
            return True
        if then_term:
            self.state = else_state
            self.pathcond.append(Not(cond))  # the rest runs only when cond was false
            return False
        if else_term:
            self.state = then_state
            self.pathcond.append(cond)
            return False
        self.state = self.merge(cond, then_state, else_state, node)
        return False

    def merge(self, cond: object, a: _State, b: _State, node: Node) -> _State:
        out = b.copy()
        for name, va in a.roles.items():
            vb = b.roles.get(name)
            if vb is None:
                out.roles[name] = va
                out.gens[name] = a.gens.get(name, 0)
                continue
            if a.gens.get(name) != b.gens.get(name):
                pid = self.facts.new_id()
                st = self.step(node, "phi", f"{name} differs between branches")
                self.facts.phis[pid] = Phi(pid, self.func, [(cond, va), (Not(cond), vb)], st)
                out.roles[name] = self.origin_value(va.type, Origin("phi", str(pid), self.func, pid), st)
                out.gens[name] = self.facts.new_id()
                continue
            merged = {}
            for path, ta in va.fields.items():
                tb = vb.fields.get(path, ta)
                if ta == tb:
                    merged[path] = tb
                else:
                    merged[path] = Ite(cond, ta, tb, step_of(ta) if step_of(ta).line else step_of(tb))
            out.roles[name] = Value(va.type, merged, va.fresh and vb.fresh)
        for name, ta in a.scalars.items():
            tb = b.scalars.get(name)
            if tb is None or ta != tb:
                out.scalars[name] = Ite(cond, ta, tb if tb is not None else Unknown("branch"))
        for name, wa in a.words.items():
            if name not in b.words:
                out.words[name] = wa
        return out

    def exec_declaration(self, node: Node) -> None:
        tnode = node.child_by_field_name("type")
        ttext = self.text(tnode) if tnode is not None else ""
        rtype = role_type_of(ttext, self.model)
        for decl in node.children_by_field_name("declarator"):
            name_node, value = decl, None
            if decl.type == "init_declarator":
                name_node = decl.child_by_field_name("declarator")
                value = decl.child_by_field_name("value")
            if name_node is None or name_node.type != "identifier":
                if value is not None:
                    self.scan(value)
                continue
            name = self.text(name_node)
            if rtype is not None:
                self.mark_role_flow()
                self.role_vars[name] = rtype
                if value is None:
                    self.state.roles[name] = self.unknown_value(rtype, self.step(decl, "def"))
                else:
                    self.scan(value)
                    self.state.roles[name] = self.initializer(rtype, value, name)
                self.state.gens[name] = self.facts.new_id()
            elif value is not None:
                self.scan(value)
                word = self.word_expr(value)
                if word is not None:
                    self.state.words[name] = word
                else:
                    self.state.scalars[name] = self.scalar(value, self.step(decl, "def"))

    def exec_expr_stmt(self, node: Node) -> None:
        if node.type == "assignment_expression":
            self.scan(node.child_by_field_name("right"))
            self.assign(node)
            return
        if node.type == "update_expression":
            arg = node.child_by_field_name("argument")
            target = self.local_path(arg)
            if target is not None:
                name, path = target
                val = self.state.roles[name]
                if path in val.fields:
                    op = self.text(node.child_by_field_name("operator"))
                    leaf = path.rsplit(".", 1)[-1]
                    val.fields[path] = Opaque(f"{leaf}{op[0]}1", self.step(node, self.write_kind(val)))
                    self.note_write(val)
                return
            if arg is not None and arg.type == "identifier":
                self.state.scalars[self.text(arg)] = Unknown("updated")
            self.scan(node)
            return
        if node.type == "comma_expression":
            for c in node.named_children:
                self.exec_expr_stmt(c)
            return
        self.scan(node)

    def exec_return(self, node: Node) -> None:
        expr = next((c for c in node.named_children if c.type != "comment"), None)
        if expr is None:
            return
        self.scan(expr)
        if self.info is None or not self.info.returns_role:
            return
        val = self.role_expr(expr)
        if val is None:
            return
        self.info.returns.append((self.cond_now(), val, self.step(node, "return")))

    # ---- assignments -----------------------------------------------------

    def write_kind(self, val: Value) -> str:
        return "def" if val.fresh else "override"

    def note_write(self, val: Value) -> None:
        if self.info is not None:
            self.info.defines_fields = True
        self.mark_role_flow()

    def assign(self, node: Node) -> None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        op = self.text(node.child_by_field_name("operator"))
        if left is None or right is None:
            return
        # whole role local
        if left.type == "identifier" and self.text(left) in self.state.roles and op == "=":
            name = self.text(left)
            val = self.role_expr(right)
            if val is None:
                val = self.word_expr(right)
            rtype = self.role_vars.get(name) or self.state.roles[name].type
            if val is None or val.type != rtype:
                val = self.unknown_value(rtype, self.step(node, "def"))
            self.state.roles[name] = val.copy()
            self.state.gens[name] = self.facts.new_id()
            return
        if left.type == "identifier":
            name = self.text(left)
            if op == "=":
                word = self.word_expr(right)
                if word is not None:
                    self.state.words[name] = word
                    return
                self.state.scalars[name] = self.scalar(right, self.step(node, "def"))
            else:
                self.state.words.pop(name, None)
                self.state.scalars[name] = Opaque(normalize_expr(self.text(node)), self.step(node, "def"))
            return
        target = self.local_path(left)
        if target is not None:
            self.assign_local(node, target, op, right)
            return
        slot = self.slot_path(left)
        if slot is not None:
            self.assign_slot(node, slot, op, right)

    def assign_local(self, node: Node, target: tuple[str, str], op: str, right: Node) -> None:
        name, path = target
        val = self.state.roles[name]
        kind, prefix, _sub = self.classify_path(val.type, path)
        st = self.step(node, self.write_kind(val))
        if kind == "field":
            if op == "=":
                val.fields[path] = self.scalar(right, st)
            else:
                val.fields[path] = Opaque(normalize_expr(self.text(node)), st)
            self.note_write(val)
        elif kind in ("word", "sub"):
            leaves = [p for p in val.fields if p == prefix or p.startswith(prefix + ".") or not prefix]
            if op == "=":
                src = self.role_expr(right) if kind == "sub" else self.word_expr(right)
                if src is None and kind == "sub":
                    src = self.word_expr(right)
                if src is None and kind == "word":
                    src = self.role_expr(right)
                for leaf in leaves:
                    rel = leaf[len(prefix) + 1:] if prefix else leaf
                    term = src.fields.get(rel) if src is not None else None
                    if term is None:
                        term = Opaque(normalize_expr(self.text(right)), st) if src is None else Unknown("type", st)
                    val.fields[leaf] = term
            elif op in ("&=",):
                mask = self.mask_of(right)
                for leaf in leaves:
                    rel = leaf[len(prefix) + 1:] if prefix else leaf
                    val.fields[leaf] = self.apply_mask(val.fields[leaf], mask, rel, self.step(node, "mask"))
            else:
                for leaf in leaves:
                    val.fields[leaf] = Opaque(normalize_expr(self.text(node)), st)
            self.note_write(val)

    def assign_slot(self, node: Node, slot: tuple[str, str], op: str, right: Node) -> None:
        slot_name, path = slot
        rtype = self.model.slots[slot_name]
        kind, prefix, _sub = self.classify_path(rtype, path)
        st = self.step(node, "store")
        self.mark_role_flow()
        sid = self.facts.new_id()
        if kind in ("word", "sub", "whole") and op == "=" and not prefix:
            val = self.role_expr(right) if kind != "word" else self.word_expr(right)
            if val is None:
                val = self.word_expr(right) if kind != "word" else self.role_expr(right)
            if val is not None and val.type == rtype:
                self.facts.stores.append(Store(sid, self.func, slot_name, val.copy(), "", st))
                return
        self.facts.stores.append(Store(sid, self.func, slot_name, None, path, st))

    def classify_path(self, rtype: str, path: str) -> tuple[str, str, str | None]:
        """("field"|"word"|"sub"|"whole"|"none", prefix of the role it names, sub type)."""
        if not path:
            return ("whole", "", rtype)
        parts = path.split(".")
        cur = rtype
        prefix: list[str] = []
        for i, part in enumerate(parts):
            kind, sub = self.model.member(cur, part)
            last = i == len(parts) - 1
            if kind == "sub":
                prefix.append(part)
                cur = sub
                if last:
                    return ("sub", ".".join(prefix), cur)
            elif kind == "word" and last:
                return ("word", ".".join(prefix), cur)
            elif kind == "field" and last:
                return ("field", ".".join(prefix), cur)
            else:
                return ("none", "", None)
        return ("none", "", None)

    # ---- expressions -----------------------------------------------------

    def member_chain(self, node: Node) -> tuple[Node, list[str]] | None:
        """``a.b.c`` / ``p->q.r`` -> (base node, [members]) for field expressions."""
        names: list[str] = []
        while node is not None and node.type in ("field_expression", "parenthesized_expression"):
            if node.type == "parenthesized_expression":
                node = _only_child(node)
                if node is None:
                    return None
                continue
            fnode = node.child_by_field_name("field")
            if fnode is None:
                return None
            names.append(self.text(fnode))
            node = node.child_by_field_name("argument")
        if node is None:
            return None
        names.reverse()
        return node, names

    def local_path(self, node: Node) -> tuple[str, str] | None:
        """A member path rooted at a role local: (local name, path)."""
        chain = self.member_chain(node)
        if chain is None:
            return None
        base, names = chain
        if base.type != "identifier" or not names:
            return None
        name = self.text(base)
        if name not in self.state.roles:
            return None
        return name, ".".join(names)

    def slot_path(self, node: Node) -> tuple[str, str] | None:
        """A member path through a struct member of role type: (slot, path in it)."""
        chain = self.member_chain(node)
        if chain is None:
            return None
        base, names = chain
        if base.type == "identifier" and self.text(base) in self.state.roles:
            return None
        for i in range(len(names) - 1, -1, -1):
            if names[i] in self.model.slots:
                return names[i], ".".join(names[i + 1:])
        return None

    def load_origin(self, node: Node, slot: str, sub: str = "") -> Origin:
        """The origin of a load: one per slot and pointer in a function, so
        two reads of ``sp->role`` agree and ``parent->role`` stays apart."""
        text = normalize_expr(self.text(node))
        cut = max(text.rfind("->" + slot), text.rfind("." + slot))
        via = normalize_expr(text[:cut]) if cut > 0 else text
        return Origin("load", slot, self.func, sub=sub, via=via)

    def role_expr(self, node: Node | None) -> Value | None:
        """The role value an expression denotes, or None if it is not a role."""
        node = _unwrap(node)
        if node is None:
            return None
        t = node.type
        if t == "identifier":
            name = self.text(node)
            if name in self.state.roles:
                return self.state.roles[name].copy()
            if name in self.facts.globals:
                return self.facts.globals[name].copy()
            return None
        if t == "field_expression":
            local = self.local_path(node)
            if local is not None:
                name, path = local
                val = self.state.roles[name]
                kind, prefix, sub_type = self.classify_path(val.type, path)
                if kind == "sub" and sub_type is not None:
                    return val.sub(prefix, sub_type, self.leaves(sub_type))
                return None
            chain = self.member_chain(node)
            if chain is not None:
                base, names = chain
                if base.type == "identifier" and self.text(base) in self.facts.globals and names:
                    gval = self.facts.globals[self.text(base)]
                    kind, prefix, sub_type = self.classify_path(gval.type, ".".join(names))
                    if kind == "sub" and sub_type is not None:
                        return gval.sub(prefix, sub_type, self.leaves(sub_type))
                    return None
            slot = self.slot_path(node)
            if slot is not None:
                slot_name, path = slot
                rtype = self.model.slots[slot_name]
                kind, prefix, sub_type = self.classify_path(rtype, path)
                if kind in ("whole", "sub") and sub_type is not None:
                    self.mark_role_flow()
                    st = self.step(node, "load")
                    return self.origin_value(sub_type, self.load_origin(node, slot_name, prefix), st)
            return None
        if t == "call_expression":
            callee = self.callee_name(node)
            info = self.facts.functions.get(callee) if callee else None
            if info is not None and info.returns_role:
                site = self.call_site(node)
                st = self.step(node, "call")
                self.mark_role_flow()
                return self.origin_value(info.returns_role, Origin("call", callee, self.func, site), st)
            return None
        if t == "conditional_expression":
            a = self.role_expr(node.child_by_field_name("consequence"))
            b = self.role_expr(node.child_by_field_name("alternative"))
            if a is None or b is None or a.type != b.type:
                return None
            cond = self.cond(node.child_by_field_name("condition"))
            return Value(a.type, {p: (a.fields[p] if a.fields[p] == b.fields[p] else Ite(cond, a.fields[p], b.fields[p]))
                                  for p in a.fields})
        if t == "compound_literal_expression":
            rt = role_type_of(self.text(node.child_by_field_name("type")), self.model)
            val = node.child_by_field_name("value")
            if rt is not None and val is not None:
                return self.initializer(rt, val, "")
        return None

    def word_expr(self, node: Node | None) -> Value | None:
        """The role value whose whole word an expression denotes (``r.word``,
        ``sp->role.word & mask.word``, a u32 local holding a role word)."""
        node = _unwrap(node)
        if node is None:
            return None
        t = node.type
        if t == "identifier":
            name = self.text(node)
            if name in self.state.words:
                return self.state.words[name].copy()
            return None
        if t == "field_expression":
            fnode = node.child_by_field_name("field")
            inner = node.child_by_field_name("argument")
            if fnode is None or inner is None:
                return None
            holder = self.role_expr(inner)
            if holder is None:
                return None
            kind, _ = self.model.member(holder.type, self.text(fnode))
            return holder if kind == "word" else None
        if t == "binary_expression":
            op = self.text(node.child_by_field_name("operator"))
            if op == "&":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                val, mask_node = self.word_expr(left), right
                if val is None:
                    val, mask_node = self.word_expr(right), left
                if val is None:
                    return None
                mask = self.mask_of(mask_node)
                st = self.step(node, "mask")
                out = val.copy()
                for p in out.fields:
                    out.fields[p] = self.apply_mask(out.fields[p], mask, p, st)
                return out
        return None

    def mask_of(self, node: Node) -> tuple[Value | None, bool]:
        """(mask role value, inverted) for ``m.word`` or ``~m.word``."""
        inverted = False
        while node is not None and node.type in ("unary_expression", "parenthesized_expression"):
            if node.type == "unary_expression":
                if self.text(node.child_by_field_name("operator")) != "~":
                    break
                inverted = not inverted
                node = node.child_by_field_name("argument")
            else:
                inner = _only_child(node)
                if inner is None:
                    break
                node = inner
        return (self.word_expr(node), inverted)

    def apply_mask(self, term, mask: tuple[Value | None, bool], rel: str, st: Step):
        mval, inverted = mask
        if mval is None:
            return Opaque(f"masked({_term_text(term)})", st)
        bit = mval.fields.get(rel)
        if not isinstance(bit, Const):
            return Opaque(f"masked({_term_text(term)})", st)
        keep = bool(bit.value) != inverted
        return term if keep else Const(0, st)

    def callee_name(self, node: Node) -> str | None:
        fn = node.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "identifier":
            return self.text(fn)
        if fn.type == "call_expression":  # FNAME(fetch)(...)
            return _squash(self.text(fn))
        return None

    def call_site(self, node: Node) -> int:
        """Register a call to a known function once; return its site id."""
        key = (node.start_byte, node.end_byte)
        cached = getattr(self, "_sites", None)
        if cached is None:
            cached = self._sites = {}
        if key in cached:
            return cached[key]
        callee = self.callee_name(node) or ""
        args: list[object] = []
        argl = node.child_by_field_name("arguments")
        st = self.step(node, "call")
        if argl is not None:
            for a in argl.named_children:
                if a.type == "comment":
                    continue
                val = self.role_expr(a)
                if val is None:
                    val = self.word_expr(a)
                args.append(val if val is not None else self.scalar(a, self.step(a, "arg")))
        sid = self.facts.new_id()
        self.facts.calls.append(CallSite(sid, self.func, callee, args, st))
        cached[key] = sid
        return sid

    def scalar(self, node: Node | None, st: Step):
        """The term of a scalar expression (a field value, a call argument)."""
        inner = _unwrap(node)
        if inner is not node:
            return self.scalar(inner, st)
        if node is None:
            return Unknown("missing", st)
        t = node.type
        if t == "number_literal":
            v = parse_int(self.text(node))
            return Const(v, st) if v is not None else Opaque(self.text(node), st)
        if t == "true":
            return Const(1, st)
        if t == "false":
            return Const(0, st)
        if t == "identifier":
            name = self.text(node)
            if name in self.state.scalars:
                term = self.state.scalars[name]
                if isinstance(term, Scalar) and st.line:
                    return Scalar(term.func, term.name, st)
                return term
            if _UPPER.match(name):
                return Named(name, st)
            return Opaque(name, st)
        if t == "field_expression":
            local = self.local_path(node)
            if local is not None:
                name, path = local
                val = self.state.roles[name]
                if path in val.fields:
                    return val.fields[path]
            chain = self.member_chain(node)
            if chain is not None:
                base, names = chain
                if base.type == "identifier" and self.text(base) in self.facts.globals:
                    path = ".".join(names)
                    gval = self.facts.globals[self.text(base)]
                    if path in gval.fields:
                        return gval.fields[path]
            slot = self.slot_path(node)
            if slot is not None:
                slot_name, path = slot
                rtype = self.model.slots[slot_name]
                if path in self.leaves(rtype):
                    self.mark_role_flow()
                    return Ref(self.load_origin(node, slot_name), path, self.step(node, "load"))
        if t == "conditional_expression":
            cond = self.cond(node.child_by_field_name("condition"))
            a = self.scalar(node.child_by_field_name("consequence"), st)
            b = self.scalar(node.child_by_field_name("alternative"), st)
            return a if a == b else Ite(cond, a, b, st)
        if t == "unary_expression" and self.text(node.child_by_field_name("operator")) == "!":
            inner = self.scalar(node.child_by_field_name("argument"), st)
            if isinstance(inner, Const):
                return Const(0 if inner.value else 1, st)
        self.scan(node)
        return Opaque(normalize_expr(self.text(node)), st)

    def cond(self, node: Node | None):
        """A condition: decidable later when it rests on fields or parameters."""
        if node is None:
            return OpaqueCond("")
        t = node.type
        if t in ("parenthesized_expression", "condition_clause"):
            inner = _only_child(node)
            if inner is not None:
                return self.cond(inner)
            return OpaqueCond(normalize_expr(self.text(node)))
        if t == "unary_expression" and self.text(node.child_by_field_name("operator")) == "!":
            return Not(self.cond(node.child_by_field_name("argument")))
        if t == "binary_expression":
            op = self.text(node.child_by_field_name("operator"))
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if op == "&&":
                return And((self.cond(left), self.cond(right)))
            if op == "||":
                return Or((self.cond(left), self.cond(right)))
            if op in ("==", "!="):
                if self.word_expr(left) is not None and self.word_expr(right) is not None:
                    return OpaqueCond(normalize_expr(self.text(node)))
                eq = Eq(self.scalar(left, NO_STEP_COND), self.scalar(right, NO_STEP_COND))
                return eq if op == "==" else Not(eq)
        term = self.scalar(node, NO_STEP_COND)
        local = self.local_path(node) if node.type == "field_expression" else None
        if isinstance(term, Const | Ref | Scalar | Ite):
            return Truthy(term, local[1].rsplit(".", 1)[-1] if local else "")
        return OpaqueCond(normalize_expr(self.text(node)))

    def loop_filter(self, node: Node):
        """The condition under which a filtering iterator macro skips an
        item, with the macro's parameters replaced by this call's arguments;
        None for a plain loop."""
        head = loop_macro_head(self.pf, node)
        if head is None or "(" not in head:
            return None
        name = head[:head.index("(")].strip()
        spec = self.facts.loop_filters.get(name)
        if spec is None:
            return None
        params, cond = spec
        args = _split_args(head[head.index("(") + 1:-1])
        if len(args) != len(params) or not params:
            return None
        table = dict(zip(params, args, strict=True))
        text = re.sub(r"\b(" + "|".join(map(re.escape, params)) + r")\b",
                      lambda m: f"({table[m.group(1)]})", cond)
        snippet = parse_c(f"<macro {name}>", f"void __f(void) {{ if ({text}) ; }}")
        ifs = [n for n in _walk(snippet.root) if n.type == "if_statement"]
        if len(ifs) != 1 or snippet.root.has_error:
            return None
        # read the condition as if it stood here (its text is the snippet's)
        pf, self.pf, self.quiet = self.pf, snippet, True
        try:
            return self.cond(ifs[0].child_by_field_name("condition"))
        finally:
            self.pf, self.quiet = pf, False

    # ---- scanning for calls and compares inside any expression ----------

    def scan(self, node: Node | None) -> None:
        """Register call sites and compare sites anywhere under ``node``."""
        if node is None or self.quiet:
            return
        stack = [node]
        while stack:
            n = stack.pop()
            key = (n.start_byte, n.end_byte, n.type)
            if key in self.seen:
                continue
            self.seen.add(key)
            if n.type == "call_expression":
                callee = self.callee_name(n)
                if callee in self.facts.functions:
                    self.call_site(n)
            elif n.type == "binary_expression":
                self.maybe_compare(n)
            stack.extend(reversed(n.named_children))

    def maybe_compare(self, node: Node) -> None:
        op = self.text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        fields: list[str] | None = None
        if op in ("==", "!="):
            a, b = self.word_expr_nomask(left), self.word_expr_nomask(right)
        elif op == "&":
            xor = _strip_parens(left)
            mask_node = right
            if xor is None or xor.type != "binary_expression" or self.text(xor.child_by_field_name("operator")) != "^":
                xor, mask_node = _strip_parens(right), left
            if xor is None or xor.type != "binary_expression" or self.text(xor.child_by_field_name("operator")) != "^":
                return
            a = self.word_expr(xor.child_by_field_name("left"))
            b = self.word_expr(xor.child_by_field_name("right"))
            mval, inverted = self.mask_of(mask_node)
            if a is None or b is None or mval is None:
                return
            fields = [p for p, t in mval.fields.items() if isinstance(t, Const) and bool(t.value) != inverted]
        else:
            return
        if a is None or b is None or a.type != b.type:
            return
        self.mark_role_flow()
        cid = self.facts.new_id()
        conds = [*self.pathcond, *self.expression_conds(node)]
        cond = TRUE if not conds else conds[0] if len(conds) == 1 else And(tuple(conds))
        self.facts.compares.append(Compare(
            cid, self.func, a.copy(), b.copy(), fields, self.step(node, "compare"),
            _squash(self.text(left)), _squash(self.text(right)), cond))

    def expression_conds(self, node: Node) -> list:
        """Conditions short-circuit operators put on a subexpression:
        ``a || b`` evaluates b only when a is false, ``a && b`` when a is true."""
        out = []
        child, parent = node, node.parent
        while parent is not None and parent.type not in _STATEMENT_ENDS:
            if parent.type == "binary_expression":
                op = self.text(parent.child_by_field_name("operator"))
                left = parent.child_by_field_name("left")
                if left is not None and child != left and op in ("||", "&&"):
                    c = self.cond(left)
                    out.append(Not(c) if op == "||" else c)
            elif parent.type == "conditional_expression":
                cnode = parent.child_by_field_name("condition")
                if child == parent.child_by_field_name("consequence"):
                    out.append(self.cond(cnode))
                elif child == parent.child_by_field_name("alternative"):
                    out.append(Not(self.cond(cnode)))
            child, parent = parent, parent.parent
        return out

    def word_expr_nomask(self, node: Node | None) -> Value | None:
        return self.word_expr(node)


NO_STEP_COND = Step("", 0, 0, "", "cond", "")


def _walk(node: Node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.children)


def _only_child(node: Node) -> Node | None:
    """The one expression inside parentheses (comments aside), else None."""
    inner = [c for c in node.named_children if c.type != "comment"]
    return inner[0] if len(inner) == 1 else None


def _unwrap(node: Node | None, casts: bool = True) -> Node | None:
    """``((T) x)`` -> ``x``: what a value is does not depend on parentheses
    or casts. A parenthesis holding more than one expression is kept."""
    while node is not None:
        if node.type == "parenthesized_expression":
            inner = _only_child(node)
            if inner is None:
                return node
            node = inner
        elif casts and node.type == "cast_expression":
            node = node.child_by_field_name("value")
        else:
            return node
    return node


def _strip_parens(node: Node | None) -> Node | None:
    node = _unwrap(node, casts=False)
    return None if node is not None and node.type == "parenthesized_expression" else node


def _term_text(term) -> str:
    if isinstance(term, Const):
        return str(term.value)
    if isinstance(term, Named):
        return term.name
    if isinstance(term, Opaque):
        return term.text
    if isinstance(term, Ref):
        return f"{term.origin.name}.{term.path}"
    if isinstance(term, Scalar):
        return term.name
    return "?"
