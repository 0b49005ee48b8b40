"""Expressions, one handler per node type, found by name (as the
statements are): an expression of any other type is a value not known."""

from __future__ import annotations

import re

from analyzer.cparse import FunctionDef
from analyzer.facts.syntax import parse_int
from analyzer.state_reads.frame import Frame
from analyzer.state_reads.part import Part
from analyzer.state_reads.places import MMU_MEMBERS
from analyzer.state_reads.tree import Syn
from analyzer.state_values import (
    P,
    S,
    V,
    flag_of,
    join_path,
    reads_of,
    remask,
    sym_of,
    truth,
    val,
)
from analyzer.statesym import FALSE, TRUE, UNKNOWN, and_, const, ite, not_, op, or_

_MACRO_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class Expressions(Part):
    def __call__(self, frame: Frame, node: Syn | None, depth: int, used: bool = True) -> object:
        if node is None:
            return V(UNKNOWN)
        handler = self.handler(node.type)
        if handler is None:
            return V(UNKNOWN)
        return handler(self, frame, node, depth, used)

    def PARENTHESIZED_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        if not node.named_children:
            return V(UNKNOWN)
        return self(frame, node.named_children[-1], depth, used)

    def IDENTIFIER(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return self.identifier(frame, node)

    def NUMBER_LITERAL(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        n = parse_int(node.text.rstrip("uUlL"))
        return V(const(n) if n is not None else ("h", node.text))

    # the literals ``true``, ``false`` and ``NULL`` (in the class body these
    # names are the handlers; in the methods, statesym's conditions)
    def TRUE(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return V(const(1))

    def FALSE(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return V(const(0))

    NULL = FALSE

    def STRING_LITERAL(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return V(("h", node.flat))

    CHAR_LITERAL = CONCATENATED_STRING = SIZEOF_EXPRESSION = STRING_LITERAL
    ALIGNOF_EXPRESSION = OFFSETOF_EXPRESSION = STRING_LITERAL

    def CAST_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return self(frame, node.field("value"), depth, used)

    def CONDITIONAL_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        c = self(frame, node.field("condition"), depth)
        cond = truth(sym_of(c))
        a = self.guarded(frame, cond, node.field("consequence"), depth)
        b = self.guarded(frame, not_(cond), node.field("alternative"), depth)
        if isinstance(a, S) or isinstance(b, S):
            return a
        return val(ite(cond, sym_of(a), sym_of(b)), reads_of(c), reads_of(a), reads_of(b))

    def ASSIGNMENT_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return self.ix.assign.expression(frame, node, depth)

    def UPDATE_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        arg = node.field("argument")
        if arg is not None and arg.type == "identifier":
            old = self.identifier(frame, arg)
            self.ix.assign.local(frame, arg.text, val(op("+", sym_of(old), const(1)), reads_of(old)))
            return old
        return V(UNKNOWN)

    def CALL_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return self.ix.call(frame, node, depth, used)

    def FIELD_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        root, path = self.ix.place.of(frame, node, depth)
        return self.ix.place.member(frame, node, root, path)

    SUBSCRIPT_EXPRESSION = FIELD_EXPRESSION

    def COMMA_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        self(frame, node.field("left"), depth, used=False)
        return self(frame, node.field("right"), depth, used)

    def INITIALIZER_LIST(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        return self.ix.initializer(frame, "", node, depth)

    def UNARY_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        operator = node.field("operator")
        arg = self(frame, node.field("argument"), depth)
        o = operator.text if operator is not None else ""
        s = sym_of(arg)
        if o == "!":
            return val(not_(truth(s)), reads_of(arg))
        if o == "-":
            return val(op("neg", s) if s[0] != "c" else const(-s[1]), reads_of(arg))
        if o == "~":
            return val(op("~", s), reads_of(arg))
        return arg

    def POINTER_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        place = self.ix.place
        operator = node.field("operator")
        argn = node.field("argument")
        o = operator.text if operator is not None else ""
        if o == "&":
            root, path = place.of(frame, argn, depth)
            if isinstance(root, P) and root.kind == "ctx":
                return P("ctx", join_path(root.path, path))
            if isinstance(root, P) and root.kind == "vcpu" and path[:1] == ["arch"] \
                    and len(path) == 2 and path[1] in MMU_MEMBERS:
                return P("mmu", path[1])
            if not path and isinstance(root, S):
                return P("struct", "", root)
            got = place.member(frame, argn, root, path)
            return got if isinstance(got, P) else V(("h", f"&{argn.flat}"), reads_of(got))
        got = self(frame, argn, depth)
        if isinstance(got, P) and got.kind == "struct":
            return got.target
        return val(op("*", sym_of(got)), reads_of(got))

    def BINARY_EXPRESSION(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        o = node.field("operator").text
        a = self(frame, node.field("left"), depth)
        if o in ("&&", "||"):
            first = truth(sym_of(a))
            b = self.guarded(frame, first if o == "&&" else not_(first),
                             node.field("right"), depth)
        else:
            b = self(frame, node.field("right"), depth)
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

    # -- shared by the handlers --------------------------------------------------

    def guarded(self, frame: Frame, cond: tuple, node: Syn | None, depth: int) -> object:
        """An operand evaluated only when ``cond`` holds (``?:``, ``&&``,
        ``||``): what it reads is read under that condition."""
        if cond == FALSE:
            return V(UNKNOWN)
        saved = frame.local
        frame.local = and_(saved, cond)
        try:
            return self(frame, node, depth)
        finally:
            frame.local = saved

    def identifier(self, frame: Frame, node: Syn) -> object:
        sources = self.ix.sources
        name = node.text
        if name in frame.locals:
            return frame.locals[name]
        if name == "NULL":
            return V(const(0))
        if name in sources.numbers:
            return V(const(sources.numbers[name]))
        if _MACRO_NAME.fullmatch(name):
            return V(("n", name))
        glob = sources.role_global(name)
        if glob is not None:
            got = self._global(glob)
            if got is not None:
                return got
        if sources.defines(name):
            return V(("h", f"&{name}"), fn=name)
        return V(("h", name))

    def _global(self, glob) -> object | None:
        pf, decl_node = glob
        node = Syn(pf, decl_node)
        tnode = node.field("type")
        rtype = self.ix.role_type(tnode.text) if tnode is not None else None
        if rtype is None:
            return None
        for decl in node.fields("declarator"):
            value = decl.field("value")
            if value is not None and value.type == "initializer_list":
                fake = Frame(pf, FunctionDef("", decl_node, decl_node, 0, 0, "", []), TRUE, False, (), 0)
                return self.ix.initializer(fake, tnode.text, value, 0)
        return None
