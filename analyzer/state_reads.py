"""What a skipped MMU reconfiguration reads of the vCPU, and where it goes.

The ``init_kvm_*`` functions return early when the role they compute
equals the role cached in the MMU context. ``skipped`` interprets such a
function, from the callers that supply its roles and registers, and follows
the code that runs only when the comparison fails (after the early
``return``, or inside ``if (!=)``) into the callees that receive the
context. It answers with the compared role's fields, as symbolic values
over vCPU state (``analyzer.statesym``), and every store into the context
there, each with the reads of vCPU state its value depends on (data and
control dependence) and the path condition of each read.

Small helpers are inlined to know what an accessor reads (``is_long_mode``,
``cpuid_maxphyaddr``, ``kvm_read_cr4_bits``, the ``____is_*(regs)``
helpers made by ``BUILD_MMU_ROLE_*`` macros), from the MMU files, their
headers and the optional context files (``x86.h``, ``cpuid.h``,
``kvm_cache_regs.h``); a function of ``cpuid.c`` or ``x86.c`` is read as
text, for the ``vcpu->arch`` members it reads. A call to anything else is
not followed, and an indirect call (``kvm_x86_ops->...``,
``static_call(...)``) is a value that is not vCPU state.
"""

from __future__ import annotations

import re

from analyzer.cparse import FunctionDef, Node, ParsedFile
from analyzer.facts.syntax import parse_int
from analyzer.roles import RoleModel
from analyzer.state_sources import Sources
from analyzer.state_values import (
    P,
    Read,
    S,
    Sink,
    Skipped,
    V,
    flag_of,
    ite_value,
    join_path,
    masked_leaf,
    norm_path,
    reads_of,
    remask,
    render,
    sym_of,
    truth,
    val,
    with_reads,
    word_leaf,
)
from analyzer.statesym import FALSE, TRUE, UNKNOWN, and_, const, ite, not_, op, or_
from analyzer.terms import Step

MAX_DEPTH = 14  # frames deep
MAX_CHAIN = 4  # callers followed up from a comparing function
MMU_MEMBERS = frozenset({"mmu", "root_mmu", "guest_mmu", "nested_mmu", "walk_mmu"})
# calls that only check (WARN conditions do not build state)
IGNORED_CALLS = re.compile(r"^(WARN\w*|BUILD_BUG_ON\w*|MMU_WARN_ON|KVM_BUG\w*|BUG_ON|lockdep_\w+|"
                           r"kvm_lockdep_\w+|might_sleep|trace_\w+|pr_\w+|printk\w*)$")
TRANSPARENT_CALLS = frozenset({"likely", "unlikely", "READ_ONCE", "ACCESS_ONCE", "data_race"})


# ---- the interpreter ---------------------------------------------------------


class _Frame:
    def __init__(self, interp: Interp, pf: ParsedFile, fd: FunctionDef, guard: tuple, region: bool,
                 calls: tuple, ident: int):
        self.interp = interp
        self.pf = pf
        self.fd = fd
        self.locals: dict[str, object] = {}
        self.entry = guard  # what holds at the call
        self.local = TRUE  # conditions inside this function
        self.cd: frozenset = frozenset()  # reads the current point depends on (control)
        self.kill = FALSE  # where an earlier return left the function
        self.kill_reads: frozenset = frozenset()
        self.returns: list[tuple[tuple, object, frozenset]] = []
        self.region = region
        self.calls = calls
        self.ident = ident
        self.dead = False
        self.switch_active: list | None = None
        self.inherited: frozenset = frozenset()

    def guard(self) -> tuple:
        return and_(self.entry, self.local, not_(self.kill) if self.kill != FALSE else TRUE)

    def local_guard(self) -> tuple:
        return and_(self.local, not_(self.kill) if self.kill != FALSE else TRUE)

    def deps(self) -> frozenset:
        return self.cd | self.kill_reads

    def step(self, node: Node, kind: str, text: str | None = None) -> Step:
        shown = " ".join((text if text is not None else self.pf.text_of(node)).split())
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return Step(self.pf.path, self.pf.line_of(node), self.pf.col_of(node), self.fd.name, kind, shown)

    def text(self, node: Node) -> str:
        return " ".join(self.pf.text_of(node).split())


class Interp:
    """Interprets one chain of calls down to a comparing function."""

    def __init__(self, sources: Sources, model: RoleModel, chain: tuple, compare: Step,
                 ctx_var: str, fnptr_members: frozenset):
        self.sources = sources
        self.model = model
        self.chain = chain
        self.compare = compare
        self.ctx_var = ctx_var
        self.fnptr_members = fnptr_members
        self.result = Skipped(chain[-1], chain, compare, True, {})
        self.understood = False
        self._frames = 0
        self._stack: list[str] = []
        self.ctx_writes: dict[str, object] = {}  # context members written on the way

    # -- running ---------------------------------------------------------------

    def run(self) -> Skipped | None:
        top = self.sources.lookup(self.chain[0])
        if top is None:
            return None
        pf, fd = top
        args = [self._free_param(ptype, pname) for ptype, pname in fd.params]
        self.invoke(pf, fd, args, TRUE, False, (), 0)
        return self.result if self.understood else None

    def _free_param(self, ptype: str, pname: str) -> object:
        if "kvm_vcpu" in ptype and "*" in ptype:
            return P("vcpu")
        if "kvm_mmu" in ptype and "*" in ptype and "role" not in ptype:
            return P("mmu", pname)
        rtype = self._role_type(ptype)
        if rtype is not None:
            return S({leaf: V(("h", f"{pname}.{leaf}")) for leaf in self.model.leaves(rtype)}, rtype)
        if ptype.startswith(("struct", "const struct")) and "*" in ptype:
            return P("struct", "", S({}, None, free=pname))
        return V(("h", pname))

    def _role_type(self, type_text: str) -> str | None:
        if "*" in type_text:
            return None
        words = type_text.replace("const ", "").split()
        name = words[-1] if words else ""
        return name if self.model.is_role(name) else None

    def invoke(self, pf: ParsedFile, fd: FunctionDef, args: list, guard: tuple, region: bool,
               calls: tuple, depth: int, deps: frozenset = frozenset()) -> object:
        self._frames += 1
        frame = _Frame(self, pf, fd, guard, region, calls, self._frames)
        frame.cd = deps  # what decides that the call is made
        frame.inherited = deps  # not what it returns: the caller adds it where it uses that
        self.result.functions.add(fd.name)
        for i, (ptype, pname) in enumerate(fd.params):
            if not pname:
                continue
            val = args[i] if i < len(args) else V(UNKNOWN)
            if fd.name == self.chain[-1] and pname == self.ctx_var:
                val = P("ctx")
            rtype = self._role_type(ptype)
            if rtype is not None and isinstance(val, S):
                val = S(dict(val.fields), rtype, val.free)
            frame.locals[pname] = val
        self._stack.append(fd.name)
        try:
            self.block(frame, fd.body, depth)
        finally:
            self._stack.pop()
        return self._merge_returns(frame, fd)

    def _merge_returns(self, frame: _Frame, fd: FunctionDef) -> object:
        if not frame.returns:
            return V(("h", f"{fd.name}()"))
        cond, value, deps = frame.returns[-1]
        out = value
        reads = reads_of(value) | deps
        for cond, value, deps in reversed(frame.returns[:-1]):
            reads |= reads_of(value) | deps
            out = ite_value(cond, value, out)
        if isinstance(out, V):
            return V(out.sym, out.reads | reads)
        return out

    # -- statements --------------------------------------------------------------

    def block(self, frame: _Frame, node: Node, depth: int) -> None:
        for child in node.named_children:
            if frame.dead:
                return
            self.statement(frame, child, depth)

    def statement(self, frame: _Frame, node: Node, depth: int) -> None:
        t = node.type
        if t == "compound_statement":
            self.block(frame, node, depth)
        elif t == "expression_statement":
            for child in node.named_children:
                self.expr(frame, child, depth, used=False)
        elif t == "declaration":
            self.declaration(frame, node, depth)
        elif t == "if_statement":
            self.if_statement(frame, node, depth)
        elif t == "return_statement":
            value = node.named_children[0] if node.named_children else None
            got = self.expr(frame, value, depth) if value is not None else V(("h", "void"))
            frame.returns.append((frame.local_guard(), got, frame.deps() - frame.inherited))
            frame.kill = or_(frame.kill, frame.local_guard())
            frame.kill_reads = frame.kill_reads | frame.cd
            if frame.local == TRUE:
                frame.dead = True
        elif t in ("for_statement", "while_statement", "do_statement"):
            self.loop(frame, node, depth)
        elif t == "switch_statement":
            self.switch(frame, node, depth)
        elif t == "case_statement":
            self.case(frame, node, depth)
        elif t == "break_statement":
            if frame.switch_active is not None:
                frame.switch_active.clear()
        elif t == "labeled_statement":
            for child in node.named_children[1:]:
                self.statement(frame, child, depth)
        elif t in ("preproc_ifdef", "preproc_if", "preproc_elif"):
            # the configuration KVM is built for: the first branch
            for child in node.named_children:
                if child.type in ("preproc_else", "preproc_elif", "preproc_elifdef"):
                    break
                if child.type not in ("identifier", "preproc_defined", "binary_expression",
                                      "call_expression", "unary_expression", "parenthesized_expression"):
                    self.statement(frame, child, depth)

    def declaration(self, frame: _Frame, node: Node, depth: int) -> None:
        tnode = node.child_by_field_name("type")
        type_text = frame.text(tnode) if tnode is not None else ""
        for decl in node.children_by_field_name("declarator"):
            stars = 0
            inner = decl.child_by_field_name("declarator") if decl.type == "init_declarator" else decl
            while inner is not None and inner.type in ("pointer_declarator", "array_declarator"):
                stars += inner.type == "pointer_declarator"
                inner = inner.child_by_field_name("declarator")
            if inner is None or inner.type != "identifier":
                continue
            name = frame.pf.text_of(inner)
            full_type = type_text + " *" * stars
            if decl.type != "init_declarator":
                frame.locals[name] = self._zero_or_unknown(full_type, initialized=False)
                continue
            value = decl.child_by_field_name("value")
            if frame.fd.name == self.chain[-1] and name == self.ctx_var:
                frame.locals[name] = P("ctx")
                continue
            got = self.initializer(frame, full_type, value, depth)
            self.assign_local(frame, name, got)

    def _zero_or_unknown(self, type_text: str, initialized: bool) -> object:
        rtype = self._role_type(type_text)
        if rtype is not None:
            fill = const(0) if initialized else UNKNOWN
            return S({leaf: V(fill) for leaf in self.model.leaves(rtype)}, rtype)
        if type_text.startswith(("struct", "const struct")) and "*" not in type_text:
            return S({}, None)
        return V(UNKNOWN)

    def initializer(self, frame: _Frame, type_text: str, value: Node | None, depth: int) -> object:
        if value is None:
            return V(UNKNOWN)
        if value.type == "initializer_list":
            rtype = self._role_type(type_text)
            out = self._zero_or_unknown(type_text, initialized=True)
            if not isinstance(out, S):
                out = S({})
            for item in value.named_children:
                if item.type == "initializer_pair":
                    des = [frame.pf.text_of(d).lstrip(".") for d in item.children_by_field_name("designator")]
                    val = item.child_by_field_name("value")
                    key = ".".join(des)
                    if rtype is not None:
                        key = self._leaf(rtype, key) or key
                    got = self.expr(frame, val, depth) if val is not None else V(UNKNOWN)
                    out.fields[key] = got if isinstance(got, V) else V(sym_of(got), reads_of(got))
            return out
        got = self.expr(frame, value, depth)
        rtype = self._role_type(type_text)
        if rtype is not None and isinstance(got, S):
            return S(dict(got.fields), rtype, got.free)
        return got

    def _leaf(self, rtype: str, name: str) -> str | None:
        for leaf in self.model.leaves(rtype):
            if leaf == name or leaf.endswith("." + name):
                return leaf
        return None

    def assign_local(self, frame: _Frame, name: str, value: object) -> None:
        g = frame.local_guard()
        deps = frame.deps()
        old = frame.locals.get(name)
        if g == TRUE or old is None:
            frame.locals[name] = with_reads(value, deps)
            return
        frame.locals[name] = with_reads(ite_value(g, value, old), deps)

    def if_statement(self, frame: _Frame, node: Node, depth: int) -> None:
        cond_node = node.child_by_field_name("condition")
        then = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        if frame.fd.name == self.chain[-1] and self._is_site(frame, cond_node):
            self.site(frame, cond_node, then, alt, depth)
            return
        c = self.expr(frame, cond_node, depth)
        csym, creads = truth(sym_of(c)), reads_of(c)
        if csym[0] == "c":  # decided: only the branch taken runs
            taken = then if csym[1] else (alt.named_children[0] if alt is not None and alt.named_children else None)
            if taken is not None:
                self.statement(frame, taken, depth)
            return
        saved = (frame.local, frame.cd, frame.dead)
        kill_before = frame.kill
        frame.local = and_(saved[0], truth(csym))
        frame.cd = saved[1] | creads
        if then is not None:
            self.statement(frame, then, depth)
        then_dead = frame.dead
        frame.dead = saved[2]
        then_killed = frame.kill != kill_before
        frame.local = and_(saved[0], not_(truth(csym)))
        if alt is not None:
            for child in alt.named_children:
                self.statement(frame, child, depth)
        else_dead = frame.dead
        frame.local, frame.cd = saved[0], saved[1]
        frame.dead = saved[2] or (then_dead and else_dead and alt is not None and frame.local == TRUE)
        if then_killed or then_dead:
            frame.kill_reads = frame.kill_reads | creads

    def loop(self, frame: _Frame, node: Node, depth: int) -> None:
        for part in ("initializer",):
            init = node.child_by_field_name(part)
            if init is not None:
                if init.type == "declaration":
                    self.declaration(frame, init, depth)
                else:
                    self.expr(frame, init, depth, used=False)
        cond = node.child_by_field_name("condition")
        c = self.expr(frame, cond, depth) if cond is not None else V(("h", "loop"))
        body = node.child_by_field_name("body")
        saved = (frame.local, frame.cd, frame.dead)
        frame.local = and_(saved[0], ("h", f"loop@{frame.pf.line_of(node)}"))
        frame.cd = saved[1] | reads_of(c)
        for _ in range(2):
            if body is not None:
                self.statement(frame, body, depth)
            frame.dead = saved[2]
            update = node.child_by_field_name("update")
            if update is not None:
                self.expr(frame, update, depth, used=False)
        frame.local, frame.cd, frame.dead = saved

    def switch(self, frame: _Frame, node: Node, depth: int) -> None:
        subject = self.expr(frame, node.child_by_field_name("condition"), depth)
        body = node.child_by_field_name("body")
        saved = (frame.local, frame.cd, frame.switch_active, frame.dead)
        frame.switch_active = []
        frame.cd = saved[1] | reads_of(subject)
        frame.subject = subject  # type: ignore[attr-defined]
        if body is not None:
            for child in body.named_children:
                self.statement(frame, child, depth)
        frame.local, frame.cd, frame.switch_active, frame.dead = saved

    def case(self, frame: _Frame, node: Node, depth: int) -> None:
        value = node.child_by_field_name("value")
        subject = getattr(frame, "subject", V(UNKNOWN))
        active = frame.switch_active if frame.switch_active is not None else []
        if value is None:
            active.append(TRUE)  # default
        else:
            active.append(op("==", sym_of(subject), sym_of(self.expr(frame, value, depth))))
        cond = FALSE
        for c in active:
            cond = or_(cond, c)
        base = frame.local
        frame.local = and_(base, cond)
        for child in node.named_children:
            if child == value:
                continue
            self.statement(frame, child, depth)
            if not active:  # a break
                break
        frame.local = base
        frame.dead = False

    # -- the comparing if ----------------------------------------------------------

    def _is_site(self, frame: _Frame, cond: Node | None) -> bool:
        if cond is None:
            return False
        line = frame.pf.line_of(cond)
        last = cond.end_point.row + 1
        return frame.pf.path == self.compare.file and line <= self.compare.line <= last

    def site(self, frame: _Frame, cond: Node, then: Node | None, alt: Node | None, depth: int) -> None:
        inner = cond
        while inner.type == "parenthesized_expression" and inner.named_children:
            inner = inner.named_children[0]
        shape = _compare_shape(frame, inner)
        if shape is None or then is None:
            return
        kind, operands = shape
        fields: dict = {}
        for i, operand in enumerate(operands):
            got = self.role_word(frame, operand, depth)
            if got is not None:
                fields.update((f"{i}:{leaf}", sym) for leaf, sym in got.items())
        if not fields:
            return
        self.understood = True
        self.result.fields = fields
        self.result.compare = frame.step(cond, "compare")
        if kind == "==" and _returns(then) and alt is None:
            self.result.early_return = True
            frame.region = True  # what follows runs only when the roles differ
        elif kind == "!=":
            self.result.early_return = False
            frame.region = True
            self.statement(frame, then, depth)
            frame.region = False
            if alt is not None:
                for child in alt.named_children:
                    self.statement(frame, child, depth)
        else:
            self.understood = False

    def role_word(self, frame: _Frame, node: Node, depth: int) -> dict | None:
        """The leaves of a role word compared here (``new_role.as_u64``,
        ``root_role.word``), unless it is the context's stored role."""
        got = self.word_value(frame, node, depth)
        return {leaf: v.sym for leaf, v in got.fields.items()} if got is not None else None

    def word_value(self, frame: _Frame, node: Node, depth: int) -> S | None:
        """A role word (``mask.word``, ``role.base.word``) as the role it is:
        its leaves, named from the word's own type."""
        if node.type not in ("field_expression", "parenthesized_expression"):
            return None
        root, path = self._place(frame, node, depth)
        if not isinstance(root, S) or root.rtype is None or not path:
            return None
        prefix, rtype = self._navigate(root.rtype, path)
        if rtype is None:
            return None
        cut = len(prefix) + 1 if prefix else 0
        return S({leaf[cut:]: v for leaf, v in root.fields.items()
                  if not prefix or leaf.startswith(prefix + ".")}, rtype)

    def _navigate(self, rtype: str, path: list[str]) -> tuple[str, str | None]:
        """``["base", "word"]`` in a role: (the leaf prefix, the role type at
        the word), or (..., None) when the path is not a word."""
        prefix: list[str] = []
        cur = rtype
        for name in path:
            kind, sub = self.model.member(cur, name)
            if kind == "word":
                return ".".join(prefix), cur
            if kind == "sub" and sub is not None:
                prefix.append(name)
                cur = sub
                continue
            return ".".join(prefix), None
        return ".".join(prefix), None

    # -- expressions -------------------------------------------------------------

    def expr(self, frame: _Frame, node: Node | None, depth: int, used: bool = True) -> object:
        if node is None:
            return V(UNKNOWN)
        t = node.type
        if t == "parenthesized_expression" and node.named_children:
            return self.expr(frame, node.named_children[-1], depth, used)
        if t == "identifier":
            return self.identifier(frame, node)
        if t == "number_literal":
            n = parse_int(frame.pf.text_of(node).rstrip("uUlL"))
            return V(const(n) if n is not None else ("h", frame.pf.text_of(node)))
        if t == "true":
            return V(const(1))
        if t in ("false", "null"):
            return V(const(0))
        if t in ("string_literal", "char_literal", "concatenated_string", "sizeof_expression",
                 "alignof_expression", "offsetof_expression"):
            return V(("h", frame.text(node)))
        if t == "cast_expression":
            return self.expr(frame, node.child_by_field_name("value"), depth, used)
        if t == "unary_expression":
            return self.unary(frame, node, depth)
        if t == "pointer_expression":
            return self.pointer(frame, node, depth)
        if t == "binary_expression":
            return self.binary(frame, node, depth)
        if t == "conditional_expression":
            c = self.expr(frame, node.child_by_field_name("condition"), depth)
            cond = truth(sym_of(c))
            a = self.guarded(frame, cond, node.child_by_field_name("consequence"), depth)
            b = self.guarded(frame, not_(cond), node.child_by_field_name("alternative"), depth)
            if isinstance(a, S) or isinstance(b, S):
                return a
            return val(ite(cond, sym_of(a), sym_of(b)), reads_of(c), reads_of(a), reads_of(b))
        if t == "assignment_expression":
            return self.assignment(frame, node, depth)
        if t == "update_expression":
            arg = node.child_by_field_name("argument")
            if arg is not None and arg.type == "identifier":
                old = self.identifier(frame, arg)
                self.assign_local(frame, frame.pf.text_of(arg), val(op("+", sym_of(old), const(1)), reads_of(old)))
                return old
            return V(UNKNOWN)
        if t == "call_expression":
            return self.call(frame, node, depth, used)
        if t in ("field_expression", "subscript_expression"):
            root, path = self._place(frame, node, depth)
            return self.member(frame, node, root, path)
        if t == "comma_expression":
            self.expr(frame, node.child_by_field_name("left"), depth, used=False)
            return self.expr(frame, node.child_by_field_name("right"), depth, used)
        if t == "initializer_list":
            return self.initializer(frame, "", node, depth)
        return V(UNKNOWN)

    def identifier(self, frame: _Frame, node: Node) -> object:
        name = frame.pf.text_of(node)
        if name in frame.locals:
            return frame.locals[name]
        if name == "NULL":
            return V(const(0))
        if name in self.sources.numbers:
            return V(const(self.sources.numbers[name]))
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            return V(("n", name))
        glob = self.sources.role_global(name)
        if glob is not None:
            got = self._global(glob)
            if got is not None:
                return got
        if self.sources.defines(name):
            return V(("h", f"&{name}"), fn=name)
        return V(("h", name))

    def _global(self, glob) -> object | None:
        pf, node = glob
        tnode = node.child_by_field_name("type")
        rtype = self._role_type(pf.text_of(tnode)) if tnode is not None else None
        if rtype is None:
            return None
        for decl in node.children_by_field_name("declarator"):
            value = decl.child_by_field_name("value")
            if value is not None and value.type == "initializer_list":
                fake = _Frame(self, pf, FunctionDef("", node, node, 0, 0, "", []), TRUE, False, (), 0)
                return self.initializer(fake, pf.text_of(tnode), value, 0)
        return None

    def unary(self, frame: _Frame, node: Node, depth: int) -> object:
        operator = node.child_by_field_name("operator")
        arg = self.expr(frame, node.child_by_field_name("argument"), depth)
        o = frame.pf.text_of(operator) if operator is not None else ""
        s = sym_of(arg)
        if o == "!":
            return val(not_(truth(s)), reads_of(arg))
        if o == "-":
            return val(op("neg", s) if s[0] != "c" else const(-s[1]), reads_of(arg))
        if o == "~":
            return val(op("~", s), reads_of(arg))
        return arg

    def pointer(self, frame: _Frame, node: Node, depth: int) -> object:
        operator = node.child_by_field_name("operator")
        argn = node.child_by_field_name("argument")
        o = frame.pf.text_of(operator) if operator is not None else ""
        if o == "&":
            root, path = self._place(frame, argn, depth)
            if isinstance(root, P) and root.kind == "ctx":
                return P("ctx", join_path(root.path, path))
            if isinstance(root, P) and root.kind == "vcpu" and path[:1] == ["arch"] \
                    and len(path) == 2 and path[1] in MMU_MEMBERS:
                return P("mmu", path[1])
            if not path and isinstance(root, S):
                return P("struct", "", root)
            got = self.member(frame, argn, root, path)
            return got if isinstance(got, P) else V(("h", f"&{frame.text(argn)}"), reads_of(got))
        got = self.expr(frame, argn, depth)
        if isinstance(got, P) and got.kind == "struct":
            return got.target
        return val(op("*", sym_of(got)), reads_of(got))

    def guarded(self, frame: _Frame, cond: tuple, node: Node | None, depth: int) -> object:
        """An operand evaluated only when ``cond`` holds (``?:``, ``&&``,
        ``||``): what it reads is read under that condition."""
        if cond == FALSE:
            return V(UNKNOWN)
        saved = frame.local
        frame.local = and_(saved, cond)
        try:
            return self.expr(frame, node, depth)
        finally:
            frame.local = saved

    def binary(self, frame: _Frame, node: Node, depth: int) -> object:
        o = frame.pf.text_of(node.child_by_field_name("operator"))
        a = self.expr(frame, node.child_by_field_name("left"), depth)
        if o in ("&&", "||"):
            first = truth(sym_of(a))
            b = self.guarded(frame, first if o == "&&" else not_(first),
                             node.child_by_field_name("right"), depth)
        else:
            b = self.expr(frame, node.child_by_field_name("right"), depth)
        sa, sb = sym_of(a), sym_of(b)
        reads = reads_of(a) | reads_of(b)
        if o == "&&":
            return V(and_(truth(sa), truth(sb)), reads)
        if o == "||":
            return V(or_(truth(sa), truth(sb)), reads)
        if o == "&":
            masked = flag_of(sa, sb) or flag_of(sb, sa)
            if masked is not None:
                old = sa if sa[0] == "a" else sb
                here = frame.step(node, "read")
                return V(masked, frozenset(remask(r, old, masked, here, frame.guard(), frame.ident) for r in reads))
        return V(op(o, sa, sb), reads)

    def assignment(self, frame: _Frame, node: Node, depth: int) -> object:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        o = frame.pf.text_of(node.child_by_field_name("operator"))
        value = self.word_value(frame, right, depth) or self.expr(frame, right, depth)
        if left.type == "identifier":
            name = frame.pf.text_of(left)
            if o != "=":
                old = self.identifier(frame, left)
                value = val(op(o[:-1], sym_of(old), sym_of(value)), reads_of(old), reads_of(value))
            self.assign_local(frame, name, value)
            return value
        root, path = self._place(frame, left, depth)
        if isinstance(root, P) and root.kind == "ctx":
            self.store(frame, node, join_path(root.path, path), value, o, right)
        elif isinstance(root, S) and path:
            self.assign_member(frame, root, path, value, o)
        return value

    def assign_member(self, frame: _Frame, target: S, path: list[str], value: object, o: str) -> None:
        g = frame.local_guard()
        deps = frame.deps()
        if target.rtype is not None:
            prefix, word_type = self._navigate(target.rtype, path)
            if word_type is not None:  # a whole word: every leaf under the prefix
                leaves = [leaf for leaf in target.fields if not prefix or leaf.startswith(prefix + ".")]
                for leaf in leaves:
                    short = leaf[len(prefix) + 1:] if prefix else leaf
                    new = word_leaf(value, short)
                    old = target.fields[leaf]
                    if o == "&=":
                        new = masked_leaf(old, new)
                    elif o != "=":
                        new = val(op(o[:-1], old.sym, new.sym), old.reads, new.reads)
                    target.fields[leaf] = with_reads(ite_value(g, new, old) if g != TRUE else new, deps)
                return
            if prefix and prefix.count(".") + 1 == len(path):  # a sub-role: ``role.ext = ...``
                for leaf in list(target.fields):
                    if leaf.startswith(prefix + "."):
                        new = word_leaf(value, leaf[len(prefix) + 1:])
                        old = target.fields[leaf]
                        target.fields[leaf] = with_reads(ite_value(g, new, old) if g != TRUE else new, deps)
                return
            key = self._leaf(target.rtype, ".".join(path)) or ".".join(path)
        else:
            key = ".".join(path)
        new = value if isinstance(value, V) else V(sym_of(value), reads_of(value))
        old = target.fields.get(key)
        if o != "=" and old is not None:
            new = val(op(o[:-1], old.sym, new.sym), old.reads, new.reads)
        if old is not None and g != TRUE:
            new = ite_value(g, new, old)
        target.fields[key] = with_reads(new, deps)

    def store(self, frame: _Frame, node: Node, path: str, value: object, o: str, right: Node) -> None:
        """An assignment through the context."""
        reads = reads_of(value) | frame.deps()
        head = path.split(".", 1)[0]
        if head in self.sources.slots:
            return  # the role itself
        fnptr = head in self.fnptr_members or (isinstance(value, V) and bool(value.fn))
        ctx_writes = self.ctx_writes
        old = ctx_writes.get(path)
        g = frame.local_guard()
        new = value if isinstance(value, V) else V(sym_of(value), reads_of(value))
        if o != "=":
            base = old if isinstance(old, V) else V(("h", f"ctx:{path}"))
            new = val(op(o[:-1], base.sym, new.sym), base.reads, new.reads)
            reads = reads | new.reads
        ctx_writes[path] = ite_value(g, new, old) if g != TRUE and isinstance(old, V) else new
        if frame.region:
            self.result.sinks.append(Sink(path, frame.step(node, "store"), reads, fnptr, frame.calls,
                                          reads_of(value)))

    # -- places: members and subscripts --------------------------------------------

    def _place(self, frame: _Frame, node: Node, depth: int) -> tuple[object, list[str]]:
        path: list[str] = []
        while node is not None:
            if node.type == "field_expression":
                fld = node.child_by_field_name("field")
                path.insert(0, frame.pf.text_of(fld) if fld is not None else "?")
                node = node.child_by_field_name("argument")
            elif node.type == "subscript_expression":
                path.insert(0, "[]")
                node = node.child_by_field_name("argument")
            elif node.type == "parenthesized_expression" and node.named_children:
                node = node.named_children[-1]
            else:
                break
        root = self.expr(frame, node, depth) if node is not None else V(UNKNOWN)
        if isinstance(root, P) and root.kind == "struct":
            root = root.target
        return root, path

    def member(self, frame: _Frame, node: Node, root: object, path: list[str]) -> object:
        if not path:
            return root
        if isinstance(root, P):
            if root.kind == "vcpu":
                return self.vcpu_member(frame, node, path)
            if root.kind == "ctx":
                full = join_path(root.path, path)
                head = full.split(".", 1)[0]
                if head in self.sources.slots:
                    return V(("r", f"ctx.{norm_path(full)}"))
                got = self.ctx_writes.get(full)
                if isinstance(got, V):
                    return got
                return V(("h", f"ctx:{norm_path(full)}"))
            if root.kind == "mmu":
                if any(p in self.sources.slots for p in path):
                    return V(("r", f"{root.path}.{'.'.join(path)}"))
                return V(("h", f"{root.path}.{'.'.join(path)}"))
            return V(UNKNOWN)
        if isinstance(root, S):
            if root.rtype is not None:
                prefix, word_type = self._navigate(root.rtype, path)
                if word_type is not None:
                    leaves = [v for leaf, v in root.fields.items() if not prefix or leaf.startswith(prefix + ".")]
                    return val(("op", "word", *(v.sym for v in leaves)), *leaves)
                if prefix and prefix.count(".") + 1 == len(path):
                    sub = {leaf[len(prefix) + 1:]: v for leaf, v in root.fields.items()
                           if leaf.startswith(prefix + ".")}
                    return S(sub, self._sub_type(root.rtype, path), root.free)
                key = self._leaf(root.rtype, ".".join(path))
                return root.get(key) if key is not None else V(UNKNOWN)
            key = ".".join(path)
            if key in root.fields or root.free or not any(k.startswith(key + ".") for k in root.fields):
                return root.get(key)
            return S({k[len(key) + 1:]: v for k, v in root.fields.items() if k.startswith(key + ".")})
        if isinstance(root, V):
            return val(op("member:" + ".".join(path), root.sym), root.reads)
        return V(UNKNOWN)

    def _sub_type(self, rtype: str, path: list[str]) -> str | None:
        cur: str | None = rtype
        for name in path:
            if cur is None:
                return None
            kind, sub = self.model.member(cur, name)
            cur = sub if kind == "sub" else None
        return cur

    def vcpu_member(self, frame: _Frame, node: Node, path: list[str]) -> object:
        if path[0] != "arch" or len(path) < 2:
            return V(("h", "vcpu->" + ".".join(path)))  # the VM (vcpu->kvm), not the vCPU
        if any(p in self.sources.slots for p in path):
            return V(("r", "vcpu->" + ".".join(path)))
        if path[1] in MMU_MEMBERS:
            return V(("h", "vcpu->" + ".".join(path)))
        storage = f"arch.{path[1]}"
        atom = ("a", storage, None)
        read = Read(atom, frame.step(node, "read"), "", (), frame.guard(), frozenset({path[1]}), frame.ident)
        return V(atom, frozenset({read}))

    # -- calls -------------------------------------------------------------------

    def call(self, frame: _Frame, node: Node, depth: int, used: bool) -> object:
        fnode = node.child_by_field_name("function")
        argn = node.child_by_field_name("arguments")
        arg_nodes = argn.named_children if argn is not None else []
        name = frame.pf.text_of(fnode) if fnode is not None and fnode.type == "identifier" else ""
        if not name:
            return V(("h", frame.text(fnode) + "()"))  # an indirect call: not followed
        if IGNORED_CALLS.match(name):
            return V(("h", f"{name}()"))
        args = [self.expr(frame, a, depth) for a in arg_nodes]
        if name in TRANSPARENT_CALLS and len(args) == 1:
            return args[0]
        target = self.sources.lookup(name)
        on_chain = name in self.chain and name not in self._stack
        gets_ctx = any(isinstance(a, P) and a.kind == "ctx" for a in args)
        if target is not None and name not in self._stack and depth < MAX_DEPTH \
                and (used or gets_ctx or on_chain):
            pf, fd = target
            here = frame.step(node, "call")
            calls = (*frame.calls, here) if frame.region or gets_ctx else frame.calls
            first = self._frames + 1  # the callee's frame, and those it makes
            got = self.invoke(pf, fd, args, frame.guard(), frame.region, calls, depth + 1, frame.deps())
            return self._resite(frame, node, name, got, first, args)
        reads = frozenset().union(*(reads_of(a) for a in args)) if args else frozenset()
        summary = self.sources.summary(name) if any(isinstance(a, P) and a.kind == "vcpu" for a in args) else None
        if summary is not None and summary.reads and used:
            shown = ",".join(render(sym_of(a)) for a in args if not (isinstance(a, P) and a.kind == "vcpu"))
            atom = ("a", f"call:{name}({shown})", None)
            read = Read(atom, frame.step(node, "read"), name, (), frame.guard(),
                        frozenset(summary.reads) - MMU_MEMBERS, frame.ident)
            return V(atom, reads | {read})
        return V(op(f"call:{name}", *(sym_of(a) for a in args)), reads)

    def _resite(self, frame: _Frame, node: Node, name: str, got: object, first: int,
                args: list) -> object:
        """Reads made inside a call, seen from the caller: read at the call,
        through that accessor."""
        def move(r: Read) -> Read:
            if r.frame < first:
                return r
            inner = (r.step, *r.inner)
            only_pointers = all(isinstance(a, P) for a in args)
            return Read(r.atom, frame.step(node, "read"), name, inner, r.guard, r.members, frame.ident,
                        ((name, only_pointers), *r.via))

        if isinstance(got, V):
            return V(got.sym, frozenset(move(r) for r in got.reads), got.fn)
        if isinstance(got, S):
            return S({k: V(v.sym, frozenset(move(r) for r in v.reads)) for k, v in got.fields.items()},
                     got.rtype, got.free)
        return got

# ---- helpers --------------------------------------------------------------------


def _returns(node: Node) -> bool:
    if node.type == "return_statement":
        return True
    if node.type == "compound_statement":
        kids = node.named_children
        return bool(kids) and kids[-1].type == "return_statement"
    return False


def _compare_shape(frame: _Frame, node: Node) -> tuple[str, list[Node]] | None:
    """``a == b && c == d``: ("==", [a, b, c, d]); the same with ``!=`` and
    ``||``."""
    if node.type != "binary_expression":
        return None
    o = frame.pf.text_of(node.child_by_field_name("operator"))
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if o in ("==", "!="):
        return o, [left, right]
    if o in ("&&", "||"):
        a = _compare_shape(frame, _unparen(left))
        b = _compare_shape(frame, _unparen(right))
        want = "==" if o == "&&" else "!="
        if a is not None and b is not None and a[0] == b[0] == want:
            return want, a[1] + b[1]
    return None


def _unparen(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[-1]
    return node


# ---- entry point -------------------------------------------------------------------


def skipped(sources: Sources, model: RoleModel, chain: tuple, compare: Step, ctx_var: str,
            fnptrs: frozenset) -> Skipped | None:
    """The code a role comparison skips, interpreted along ``chain``."""
    interp = Interp(sources, model, chain, compare, ctx_var, fnptrs)
    return interp.run()
