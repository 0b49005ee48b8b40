"""Statements, one handler per node type, found by name as pyflakes finds
its ``IF(self, node)``: ``IF_STATEMENT`` executes an ``if_statement``; a
statement of any other type does nothing."""

from __future__ import annotations

from analyzer.state_reads.frame import Frame
from analyzer.state_reads.part import Part
from analyzer.state_reads.tree import Syn
from analyzer.state_values import P, V, reads_of, sym_of, truth
from analyzer.statesym import FALSE, TRUE, and_, not_, op, or_

# what a preprocessor conditional holds besides its branches' statements
_PREPROC_CONDITIONS = ("identifier", "preproc_defined", "binary_expression", "call_expression",
                       "unary_expression", "parenthesized_expression")


class Statements(Part):
    def __call__(self, frame: Frame, node: Syn, depth: int) -> None:
        handler = self.handler(node.type)
        if handler is not None:
            handler(self, frame, node, depth)

    def block(self, frame: Frame, node: Syn, depth: int) -> None:
        for child in node.named_children:
            if frame.dead:
                return
            self(frame, child, depth)

    COMPOUND_STATEMENT = block

    def EXPRESSION_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        for child in node.named_children:
            self.ix.expr(frame, child, depth, used=False)

    def RETURN_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        value = node.named_children[0] if node.named_children else None
        got = self.ix.expr(frame, value, depth) if value is not None else V(("h", "void"))
        frame.returns.append((frame.local_guard(), got, frame.deps() - frame.inherited))
        frame.kill = or_(frame.kill, frame.local_guard())
        frame.kill_reads = frame.kill_reads | frame.cd
        if frame.local == TRUE:
            frame.dead = True

    def BREAK_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        if frame.switch_active is not None:
            frame.switch_active.clear()

    def LABELED_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        for child in node.named_children[1:]:
            self(frame, child, depth)

    def PREPROC_IFDEF(self, frame: Frame, node: Syn, depth: int) -> None:
        # the configuration KVM is built for: the first branch
        for child in node.named_children:
            if child.type in ("preproc_else", "preproc_elif", "preproc_elifdef"):
                break
            if child.type not in _PREPROC_CONDITIONS:
                self(frame, child, depth)

    PREPROC_IF = PREPROC_ELIF = PREPROC_IFDEF

    def DECLARATION(self, frame: Frame, node: Syn, depth: int) -> None:
        ix = self.ix
        tnode = node.field("type")
        type_text = tnode.flat if tnode is not None else ""
        for decl in node.fields("declarator"):
            stars = 0
            inner = decl.field("declarator") if decl.type == "init_declarator" else decl
            while inner is not None and inner.type in ("pointer_declarator", "array_declarator"):
                stars += inner.type == "pointer_declarator"
                inner = inner.field("declarator")
            if inner is None or inner.type != "identifier":
                continue
            name = inner.text
            full_type = type_text + " *" * stars
            if decl.type != "init_declarator":
                frame.locals[name] = ix.zero_or_unknown(full_type, initialized=False)
                continue
            value = decl.field("value")
            if frame.fd.name == ix.chain[-1] and name == ix.ctx_var:
                frame.locals[name] = P("ctx")
                continue
            got = ix.initializer(frame, full_type, value, depth)
            ix.assign.local(frame, name, got)

    def IF_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        cond_node = node.field("condition")
        then = node.field("consequence")
        alt = node.field("alternative")
        if frame.fd.name == self.ix.chain[-1] and self.ix.site.holds(frame, cond_node):
            self.ix.site(frame, cond_node, then, alt, depth)
            return
        c = self.ix.expr(frame, cond_node, depth)
        csym, creads = truth(sym_of(c)), reads_of(c)
        if csym[0] == "c":  # decided: only the branch taken runs
            taken = then if csym[1] else (alt.named_children[0] if alt is not None and alt.named_children else None)
            if taken is not None:
                self(frame, taken, depth)
            return
        saved = (frame.local, frame.cd, frame.dead)
        kill_before = frame.kill
        frame.local = and_(saved[0], truth(csym))
        frame.cd = saved[1] | creads
        if then is not None:
            self(frame, then, depth)
        then_dead = frame.dead
        frame.dead = saved[2]
        then_killed = frame.kill != kill_before
        frame.local = and_(saved[0], not_(truth(csym)))
        if alt is not None:
            for child in alt.named_children:
                self(frame, child, depth)
        else_dead = frame.dead
        frame.local, frame.cd = saved[0], saved[1]
        frame.dead = saved[2] or (then_dead and else_dead and alt is not None and frame.local == TRUE)
        if then_killed or then_dead:
            frame.kill_reads = frame.kill_reads | creads

    def FOR_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        for part in ("initializer",):
            init = node.field(part)
            if init is not None:
                if init.type == "declaration":
                    self.DECLARATION(frame, init, depth)
                else:
                    self.ix.expr(frame, init, depth, used=False)
        cond = node.field("condition")
        c = self.ix.expr(frame, cond, depth) if cond is not None else V(("h", "loop"))
        body = node.field("body")
        saved = (frame.local, frame.cd, frame.dead)
        frame.local = and_(saved[0], ("h", f"loop@{node.line}"))
        frame.cd = saved[1] | reads_of(c)
        for _ in range(2):
            if body is not None:
                self(frame, body, depth)
            frame.dead = saved[2]
            update = node.field("update")
            if update is not None:
                self.ix.expr(frame, update, depth, used=False)
        frame.local, frame.cd, frame.dead = saved

    WHILE_STATEMENT = DO_STATEMENT = FOR_STATEMENT

    def SWITCH_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        subject = self.ix.expr(frame, node.field("condition"), depth)
        body = node.field("body")
        saved = (frame.local, frame.cd, frame.switch_active, frame.dead)
        frame.switch_active = []
        frame.cd = saved[1] | reads_of(subject)
        frame.subject = subject
        if body is not None:
            for child in body.named_children:
                self(frame, child, depth)
        frame.local, frame.cd, frame.switch_active, frame.dead = saved

    def CASE_STATEMENT(self, frame: Frame, node: Syn, depth: int) -> None:
        value = node.field("value")
        subject = frame.subject
        active = frame.switch_active if frame.switch_active is not None else []
        if value is None:
            active.append(TRUE)  # default
        else:
            active.append(op("==", sym_of(subject), sym_of(self.ix.expr(frame, value, depth))))
        cond = FALSE
        for c in active:
            cond = or_(cond, c)
        base = frame.local
        frame.local = and_(base, cond)
        for child in node.named_children:
            if child == value:
                continue
            self(frame, child, depth)
            if not active:  # a break
                break
        frame.local = base
        frame.dead = False
