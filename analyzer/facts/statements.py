"""Executing statements in order. Each handler returns True when control
cannot fall through the statement (a return, a goto, a break)."""

from __future__ import annotations

from analyzer.cparse import Node
from analyzer.facts.dispatch import Handlers
from analyzer.facts.records import Exit
from analyzer.facts.syntax import normalize_expr, role_type_of, unwrap
from analyzer.terms import And, Not, OpaqueCond


class Statements(Handlers):
    """A statement type without a handler is only scanned for sites."""

    def __call__(self, node: Node) -> bool:
        handler = self.table.get(node.type)
        if handler is None:
            self.ex.sites.scan(node)
            return False
        return handler(self, node)

    def block(self, node: Node) -> bool:
        """Execute the statements in ``node``; True when control cannot fall through."""
        terminated = False
        for child in node.named_children:
            if child.type == "comment":
                continue
            terminated = self(child)
        return terminated

    def COMPOUND_STATEMENT(self, node: Node) -> bool:
        return self.block(node)

    def EXPRESSION_STATEMENT(self, node: Node) -> bool:
        for child in node.named_children:
            self.ex.assign(child)
        return False

    def IF_STATEMENT(self, node: Node) -> bool:
        ex = self.ex
        cnode = node.child_by_field_name("condition")
        ex.sites.scan(cnode)
        cond = ex.cond(cnode)
        with ex.binder.frame_context(cond) as then:
            then.terminated = self(node.child_by_field_name("consequence"))
        alt = node.child_by_field_name("alternative")
        with ex.binder.frame_context(Not(cond), last=True) as other:
            if alt is not None:
                for c in alt.named_children:
                    if c.type != "comment":
                        other.terminated = self(c)
        return ex.binder.join(then, other, node)

    def FOR_STATEMENT(self, node: Node) -> bool:
        ex = self.ex
        body = node.child_by_field_name("body")
        for part in ("initializer", "condition", "update"):
            p = node.child_by_field_name(part)
            if p is not None:
                ex.sites.scan(p)
        if body is not None:
            cond = OpaqueCond("loop")
            skip = ex.cond.loop_filter(node) if node.type == "while_statement" else None
            if skip is not None:
                cond = And((cond, Not(skip)))
            self.maybe(body, cond)
        return False

    WHILE_STATEMENT = DO_STATEMENT = FOR_STATEMENT

    def SWITCH_STATEMENT(self, node: Node) -> bool:
        cond = node.child_by_field_name("condition")
        if cond is not None:
            self.ex.sites.scan(cond)
        body = node.child_by_field_name("body")
        if body is not None:
            self.maybe(body, OpaqueCond("switch"))
        return False

    def maybe(self, body: Node, cond: object) -> None:
        """A body that may run or not (loops, switch)."""
        with self.ex.binder.frame_context(cond) as frame:
            self(body)
        self.ex.binder.join_maybe(frame, body)

    def CASE_STATEMENT(self, node: Node) -> bool:
        terminated = False
        for c in node.named_children:
            if c == node.child_by_field_name("value"):
                continue
            terminated = self(c)
        return terminated

    def LABELED_STATEMENT(self, node: Node) -> bool:
        terminated = False
        for c in node.named_children:
            if c.type != "statement_identifier":
                terminated = self(c)
        return terminated

    def GOTO_STATEMENT(self, node: Node) -> bool:
        return True

    CONTINUE_STATEMENT = BREAK_STATEMENT = GOTO_STATEMENT

    def RETURN_STATEMENT(self, node: Node) -> bool:
        ex = self.ex
        expr = next((c for c in node.named_children if c.type != "comment"), None)
        if expr is None:
            return True
        ex.sites.scan(expr)
        self.exit(node, expr)
        if ex.info is None or not ex.info.returns_role:
            return True
        val = ex.role(expr)
        if val is not None:
            ex.info.returns.append((ex.binder.cond_now(), val, ex.step(node, "return")))
        return True

    def exit(self, node: Node, expr: Node) -> None:
        """Enter the exit ``return expr;`` with the condition it is taken under."""
        ex = self.ex
        if ex.info is None or ex.quiet:
            return
        inner = unwrap(expr)
        call = -1
        if inner is not None and inner.type == "call_expression" and ex.sites.callee_name(inner) in ex.facts.functions:
            call = ex.sites.call_site(inner)
        ex.facts.exits.append(Exit(ex.facts.new_id(), ex.func, ex.binder.cond_now(),
                                   normalize_expr(ex.text(expr)), call, ex.step(node, "return")))

    def DECLARATION(self, node: Node) -> bool:
        ex = self.ex
        tnode = node.child_by_field_name("type")
        ttext = ex.text(tnode) if tnode is not None else ""
        rtype = role_type_of(ttext, ex.model)
        for decl in node.children_by_field_name("declarator"):
            name_node, value = decl, None
            if decl.type == "init_declarator":
                name_node = decl.child_by_field_name("declarator")
                value = decl.child_by_field_name("value")
            if name_node is None or name_node.type != "identifier":
                if value is not None:
                    ex.sites.scan(value)
                continue
            name = ex.text(name_node)
            if rtype is not None:
                ex.mark_role_flow()
                ex.role_vars[name] = rtype
                if value is None:
                    ex.state.roles[name] = ex.unknown_value(rtype, ex.step(decl, "def"))
                else:
                    ex.sites.scan(value)
                    ex.state.roles[name] = ex.role.initializer(rtype, value, name)
                ex.state.gens[name] = ex.facts.new_id()
            elif value is not None:
                ex.sites.scan(value)
                word = ex.word(value)
                if word is not None:
                    ex.state.words[name] = word
                else:
                    ex.state.scalars[name] = ex.scalar(value, ex.step(decl, "def"))
        return False
