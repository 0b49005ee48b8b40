"""Registering call sites and compare sites anywhere inside an expression."""

from __future__ import annotations

from analyzer.cparse import Node
from analyzer.facts.dispatch import Handlers
from analyzer.facts.records import CallSite, Compare
from analyzer.facts.syntax import squash, strip_parens
from analyzer.terms import TRUE, And, Const, Not

_STATEMENT_ENDS = ("expression_statement", "if_statement", "while_statement", "for_statement",
                   "do_statement", "return_statement", "declaration", "compound_statement",
                   "switch_statement", "function_definition")


class Sites(Handlers):
    """``scan`` walks a subtree once and hands each node to its handler."""

    def scan(self, node: Node | None) -> None:
        """Register call sites and compare sites anywhere under ``node``."""
        ex = self.ex
        if node is None or ex.quiet:
            return
        seen, table = ex.seen, self.table
        stack = [node]
        while stack:
            n = stack.pop()
            t = n.type
            key = (n.start_byte, n.end_byte, t)
            if key in seen:
                continue
            seen.add(key)
            if t in table:
                table[t](self, n)
            stack.extend(reversed(n.named_children))

    def CALL_EXPRESSION(self, node: Node) -> None:
        if self.callee_name(node) in self.ex.facts.functions:
            self.call_site(node)

    def BINARY_EXPRESSION(self, node: Node) -> None:
        """A compare site: ``a.word == b.word`` (or ``!=``), or
        ``(a.word ^ b.word) & mask.word``, comparing the fields the mask keeps."""
        ex = self.ex
        op = ex.text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        fields: list[str] | None = None
        if op in ("==", "!="):
            a, b = ex.word(left), ex.word(right)
        elif op == "&":
            xor = strip_parens(left)
            mask_node = right
            if xor is None or xor.type != "binary_expression" or ex.text(xor.child_by_field_name("operator")) != "^":
                xor, mask_node = strip_parens(right), left
            if xor is None or xor.type != "binary_expression" or ex.text(xor.child_by_field_name("operator")) != "^":
                return
            a = ex.word(xor.child_by_field_name("left"))
            b = ex.word(xor.child_by_field_name("right"))
            mval, inverted = ex.word.mask_of(mask_node)
            if a is None or b is None or mval is None:
                return
            fields = [p for p, t in mval.fields.items() if isinstance(t, Const) and bool(t.value) != inverted]
        else:
            return
        if a is None or b is None or a.type != b.type:
            return
        ex.mark_role_flow()
        cid = ex.facts.new_id()
        ex.facts.compares.append(Compare(
            cid, ex.func, a.copy(), b.copy(), fields, ex.step(node, "compare"),
            squash(ex.text(left)), squash(ex.text(right)), self.cond_at(node)))
        ex.compare_sites[(node.start_byte, node.end_byte)] = (cid, op == "==")

    def cond_at(self, node: Node) -> object:
        """The condition under which an expression is evaluated: the path
        to its statement and the short-circuit operators around it."""
        conds = [*self.ex.binder.pathcond, *self.expression_conds(node)]
        return TRUE if not conds else conds[0] if len(conds) == 1 else And(tuple(conds))

    def expression_conds(self, node: Node) -> list:
        """Conditions short-circuit operators put on a subexpression:
        ``a || b`` evaluates b only when a is false, ``a && b`` when a is true."""
        ex = self.ex
        out = []
        child, parent = node, node.parent
        while parent is not None and parent.type not in _STATEMENT_ENDS:
            if parent.type == "binary_expression":
                op = ex.text(parent.child_by_field_name("operator"))
                left = parent.child_by_field_name("left")
                if left is not None and child != left and op in ("||", "&&"):
                    c = ex.cond(left)
                    out.append(Not(c) if op == "||" else c)
            elif parent.type == "conditional_expression":
                cnode = parent.child_by_field_name("condition")
                if child == parent.child_by_field_name("consequence"):
                    out.append(ex.cond(cnode))
                elif child == parent.child_by_field_name("alternative"):
                    out.append(Not(ex.cond(cnode)))
            child, parent = parent, parent.parent
        return out

    def callee_name(self, node: Node) -> str | None:
        fn = node.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "identifier":
            return self.ex.text(fn)
        if fn.type == "call_expression":  # FNAME(fetch)(...)
            return squash(self.ex.text(fn))
        return None

    def call_site(self, node: Node) -> int:
        """Register a call to a known function once; return its site id."""
        ex = self.ex
        key = (node.start_byte, node.end_byte)
        if key in ex.call_sites:
            return ex.call_sites[key]
        callee = self.callee_name(node) or ""
        args: list[object] = []
        argl = node.child_by_field_name("arguments")
        st = ex.step(node, "call")
        if argl is not None:
            for a in argl.named_children:
                if a.type == "comment":
                    continue
                val = ex.role(a)
                if val is None:
                    val = ex.word(a)
                args.append(val if val is not None else ex.scalar(a, ex.step(a, "arg")))
        sid = ex.facts.new_id()
        ex.facts.calls.append(CallSite(sid, ex.func, callee, args, st, self.cond_at(node)))
        ex.call_sites[key] = sid
        return sid
