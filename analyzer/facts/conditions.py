"""Reading conditions: decidable later when they rest on role fields or
parameters (``Eq``, ``Truthy``), opaque text otherwise."""

from __future__ import annotations

from analyzer.cparse import Node
from analyzer.facts.dispatch import Handlers
from analyzer.facts.syntax import normalize_expr, only_child
from analyzer.terms import (
    And,
    CompareCond,
    Const,
    Eq,
    Ite,
    Not,
    Opaque,
    OpaqueCond,
    Or,
    Ref,
    Scalar,
    Step,
    Truthy,
)

NO_STEP_COND = Step("", 0, 0, "", "cond", "")


class Conditions(Handlers):
    """A condition; a handler returns None for what it does not know, which
    is then read as a scalar tested for truth."""

    def __call__(self, node: Node | None):
        if node is None:
            return OpaqueCond("")
        # a role comparison registered at this node (not in a macro's text,
        # whose offsets are the snippet's)
        site = None if self.ex.quiet else self.ex.compare_sites.get((node.start_byte, node.end_byte))
        if site is not None:
            return CompareCond(normalize_expr(self.ex.text(node)), *site)
        handler = self.table.get(node.type)
        if handler is not None:
            cond = handler(self, node)
            if cond is not None:
                return cond
        ex = self.ex
        term = ex.scalar(node, NO_STEP_COND)
        local = ex.paths.local(node) if node.type == "field_expression" else None
        if isinstance(term, Const | Ref | Scalar | Ite):
            return Truthy(term, local[1].rsplit(".", 1)[-1] if local else "")
        if node.type == "identifier" and ex.text(node) in ex.state.scalars:
            # a local: what was assigned to it, not its name (which another
            # function's local may share)
            return OpaqueCond(term.text if isinstance(term, Opaque) else "")
        return OpaqueCond(normalize_expr(ex.text(node)))

    def PARENTHESIZED_EXPRESSION(self, node: Node):
        inner = only_child(node)
        if inner is not None:
            return self(inner)
        return OpaqueCond(normalize_expr(self.ex.text(node)))

    CONDITION_CLAUSE = PARENTHESIZED_EXPRESSION

    def UNARY_EXPRESSION(self, node: Node):
        if self.ex.text(node.child_by_field_name("operator")) != "!":
            return None
        return Not(self(node.child_by_field_name("argument")))

    def BINARY_EXPRESSION(self, node: Node):
        ex = self.ex
        op = ex.text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if op == "&&":
            return And((self(left), self(right)))
        if op == "||":
            return Or((self(left), self(right)))
        if op in ("==", "!="):
            if ex.word(left) is not None and ex.word(right) is not None:
                return OpaqueCond(normalize_expr(ex.text(node)))
            eq = Eq(ex.scalar(left, NO_STEP_COND), ex.scalar(right, NO_STEP_COND))
            return eq if op == "==" else Not(eq)
        return None

    def loop_filter(self, node: Node):
        """The condition under which a filtering iterator macro skips an
        item, with the macro's parameters replaced by this call's arguments
        (parsed before execution, ``loops.filter_conditions``); None for a
        plain loop."""
        spec = self.ex.filters.get((node.start_byte, node.end_byte))
        if spec is None:
            return None
        snippet, cond = spec
        # read the condition as if it stood here (its text is the snippet's),
        # registering no sites
        ex = self.ex
        pf, ex.pf, ex.quiet = ex.pf, snippet, True
        try:
            return self(cond)
        finally:
            ex.pf, ex.quiet = pf, False
