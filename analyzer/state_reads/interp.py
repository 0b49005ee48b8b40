"""The interpreter of one chain of calls: where it is (the chain, the
frames it made, what it found) and its parts, each with one room."""

from __future__ import annotations

from analyzer.cparse import FunctionDef, ParsedFile
from analyzer.roles import RoleModel
from analyzer.state_reads.assignments import Assignments
from analyzer.state_reads.calls import Calls
from analyzer.state_reads.expressions import Expressions
from analyzer.state_reads.frame import Frame
from analyzer.state_reads.places import Places
from analyzer.state_reads.site import Site
from analyzer.state_reads.statements import Statements
from analyzer.state_reads.tree import Syn
from analyzer.state_sources import Sources
from analyzer.state_values import P, S, Skipped, V, ite_value, reads_of, sym_of
from analyzer.statesym import TRUE, UNKNOWN, const
from analyzer.terms import Step


class Interp:
    """Interprets one chain of calls down to a comparing function. Its
    parts give a node its meaning: ``stmt`` executes statements, ``site``
    the comparing ``if``; ``expr`` evaluates expressions, ``assign`` their
    assignments and stores, ``place`` members and subscripts, ``call``
    calls (interpreted with ``invoke``)."""

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
        self.frames = 0
        self.stack: list[str] = []
        self.ctx_writes: dict[str, object] = {}  # context members written on the way
        self._role_types: dict[str, str | None] = {}  # type text -> role type (of self.model)
        self.stmt, self.site = Statements(self), Site(self)
        self.expr, self.assign = Expressions(self), Assignments(self)
        self.place, self.call = Places(self), Calls(self)

    # -- running ---------------------------------------------------------------

    def run(self) -> Skipped | None:
        top = self.sources.lookup(self.chain[0])
        if top is None:
            return None
        pf, fd = top
        args = [self._free_param(ptype, pname) for ptype, pname in fd.params]
        try:
            self.invoke(pf, fd, args, TRUE, False, (), 0)
        finally:
            # the parts and the interpreter refer to each other: freed now,
            # not when the cyclic collector comes (the sources stay alive
            # with them)
            self.stmt = self.site = self.expr = self.assign = self.place = self.call = None
        return self.result if self.understood else None

    def _free_param(self, ptype: str, pname: str) -> object:
        if "kvm_vcpu" in ptype and "*" in ptype:
            return P("vcpu")
        if "kvm_mmu" in ptype and "*" in ptype and "role" not in ptype:
            return P("mmu", pname)
        rtype = self.role_type(ptype)
        if rtype is not None:
            return S({leaf: V(("h", f"{pname}.{leaf}")) for leaf in self.model.leaves(rtype)}, rtype)
        if ptype.startswith(("struct", "const struct")) and "*" in ptype:
            return P("struct", "", S({}, None, free=pname))
        return V(("h", pname))

    def invoke(self, pf: ParsedFile, fd: FunctionDef, args: list, guard: tuple, region: bool,
               calls: tuple, depth: int, deps: frozenset = frozenset()) -> object:
        self.frames += 1
        frame = Frame(pf, fd, guard, region, calls, self.frames)
        frame.cd = deps  # what decides that the call is made
        frame.inherited = deps  # not what it returns: the caller adds it where it uses that
        self.result.functions.add(fd.name)
        for i, (ptype, pname) in enumerate(fd.params):
            if not pname:
                continue
            val = args[i] if i < len(args) else V(UNKNOWN)
            if fd.name == self.chain[-1] and pname == self.ctx_var:
                val = P("ctx")
            rtype = self.role_type(ptype)
            if rtype is not None and isinstance(val, S):
                val = S(dict(val.fields), rtype, val.free)
            frame.locals[pname] = val
        self.stack.append(fd.name)
        try:
            self.stmt.block(frame, self.body(pf, fd), depth)
        finally:
            self.stack.pop()
        return self._merge_returns(frame, fd)

    def body(self, pf: ParsedFile, fd: FunctionDef) -> Syn:
        """The body of a function, read once for as long as the sources are
        kept (every chain, every site of the tree)."""
        got = self.sources.bodies.get(id(fd))
        if got is None or got[0] is not fd:
            got = self.sources.bodies[id(fd)] = (fd, Syn(pf, fd.body))
        return got[1]

    def _merge_returns(self, frame: Frame, fd: FunctionDef) -> object:
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

    # -- values of declared types ----------------------------------------------

    def role_type(self, type_text: str) -> str | None:
        try:
            return self._role_types[type_text]
        except KeyError:
            pass
        name = None
        if "*" not in type_text:
            words = type_text.replace("const ", "").split()
            name = words[-1] if words else ""
        got = self._role_types[type_text] = name if self.model.is_role(name) else None
        return got

    def zero_or_unknown(self, type_text: str, initialized: bool) -> object:
        rtype = self.role_type(type_text)
        if rtype is not None:
            fill = const(0) if initialized else UNKNOWN
            return S({leaf: V(fill) for leaf in self.model.leaves(rtype)}, rtype)
        if type_text.startswith(("struct", "const struct")) and "*" not in type_text:
            return S({}, None)
        return V(UNKNOWN)

    def initializer(self, frame: Frame, type_text: str, value: Syn | None, depth: int) -> object:
        if value is None:
            return V(UNKNOWN)
        if value.type == "initializer_list":
            rtype = self.role_type(type_text)
            out = self.zero_or_unknown(type_text, initialized=True)
            if not isinstance(out, S):
                out = S({})
            for item in value.named_children:
                if item.type == "initializer_pair":
                    des = [d.text.lstrip(".") for d in item.fields("designator")]
                    val = item.field("value")
                    key = ".".join(des)
                    if rtype is not None:
                        key = self.leaf(rtype, key) or key
                    got = self.expr(frame, val, depth) if val is not None else V(UNKNOWN)
                    out.fields[key] = got if isinstance(got, V) else V(sym_of(got), reads_of(got))
            return out
        got = self.expr(frame, value, depth)
        rtype = self.role_type(type_text)
        if rtype is not None and isinstance(got, S):
            return S(dict(got.fields), rtype, got.free)
        return got

    # -- the role model ----------------------------------------------------------

    def leaf(self, rtype: str, name: str) -> str | None:
        for leaf in self.model.leaves(rtype):
            if leaf == name or leaf.endswith("." + name):
                return leaf
        return None

    def navigate(self, rtype: str, path: list[str]) -> tuple[str, str | None]:
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

    def sub_type(self, rtype: str, path: list[str]) -> str | None:
        cur: str | None = rtype
        for name in path:
            if cur is None:
                return None
            kind, sub = self.model.member(cur, name)
            cur = sub if kind == "sub" else None
        return cur
