"""The walk of one function's body: the statements that move pointers
(declarations, assignments, returns, calls, iterator macros expanded down
to the list primitives) and the pointers role loads and stores go
through."""

from __future__ import annotations

import re

from analyzer.containers.records import FileFlow
from analyzer.containers.scope import Scope
from analyzer.containers.text import IDENT, balanced_from, call_key, matches, strip
from analyzer.containers.values import Values
from analyzer.cparse import FunctionDef, Node, ParsedFile, loop_macro_head
from analyzer.facts.syntax import split_args

# statements where definitions of a local other than the one just above may
# reach: loops, labels, the cases of a switch
_MERGES = frozenset({"for_statement", "while_statement", "do_statement", "labeled_statement",
                     "case_statement", "switch_statement"})


def _block_statement(n: Node) -> bool:
    """An assignment that is a statement of a block of its own (not one
    branch of an ``if`` without braces, nor part of an expression)."""
    statement = n.parent
    return (statement is not None and statement.type == "expression_statement"
            and statement.parent is not None and statement.parent.type == "compound_statement")


class FunctionFlow:
    def __init__(self, pf: ParsedFile, fd: FunctionDef, flow: FileFlow, slots: set[str],
                 page_types: set[str], defined: set[str], macros: dict) -> None:
        self.scope = Scope(pf, fd, flow, slots, page_types, defined, macros)
        self.values = Values(self.scope)

    def run(self) -> None:
        sc = self.scope
        stack = [sc.fd.body]
        # the blocks being walked: (end byte, locals defined by a statement
        # of it, whose uses below read that definition, see ``assignment``)
        blocks: list[tuple[int, set[str]]] = []
        while stack:
            n = stack.pop()
            while blocks and n.start_byte >= blocks[-1][0]:
                for name in blocks.pop()[1]:
                    sc.current.pop(name, None)
            t = n.type
            if t in _MERGES:
                sc.current.clear()  # a loop, a label or a case: other definitions may reach here
            elif t == "compound_statement":
                blocks.append((n.end_byte, set()))
            if t == "declaration":
                self.declaration(n)
            elif t == "assignment_expression":
                self.assignment(n, blocks[-1][1] if blocks else None)
            elif t == "return_statement":
                expr = next((c for c in n.named_children), None)
                if expr is not None:
                    sc.flows_to(self.values.value(expr), ("ret", sc.func))
            elif t == "while_statement":
                head = loop_macro_head(sc.pf, n)
                if head is not None:
                    self.loop_macro(head)
            elif t == "call_expression":
                self.values.call(n)  # in a condition or a statement of its own
            if t == "field_expression":
                self.note_pointer(n)
            stack.extend(reversed(n.named_children))

    def declaration(self, n: Node) -> None:
        sc = self.scope
        type_node = n.child_by_field_name("type")
        base = sc.pf.text_of(type_node) if type_node is not None else ""
        for d in n.children_by_field_name("declarator"):
            stars = sc.pf.text_of(d).split("=")[0].count("*")
            name_node = d
            while name_node is not None and name_node.type != "identifier":
                name_node = (name_node.child_by_field_name("declarator")
                             or next((c for c in name_node.named_children
                                      if c.type in ("identifier", "pointer_declarator",
                                                    "array_declarator")), None))
            if name_node is None:
                continue
            name = sc.pf.text_of(name_node)
            sc.locals[name] = base + " " + "*" * stars
            sc.current.pop(name, None)  # a new local of that name, maybe not set here
            if d.type == "init_declarator":
                value = d.child_by_field_name("value")
                if value is not None:
                    sc.flows_to(self.values.value(value), ("var", sc.func, name))

    def assignment(self, n: Node, block: set[str] | None = None) -> None:
        """``block``: the locals the innermost block being walked defines.
        A local set by a statement of that block (``root =
        mmu_alloc_root(...);``, ``root = __pa(sp->spt);``) is a definition of its own that
        the uses below it in the block read, until the block ends or a
        loop, label or case comes: the two roots of one function that
        shares a local for them go where each is put."""
        sc = self.scope
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if left is None or right is None:
            return
        src = self.values.value(right)
        target = self.values.target(left)
        if target is None:
            return
        kind, node = target
        if (block is not None and src and kind == "to" and node[0] == "var"
                and left.type == "identifier" and _block_statement(n)):
            name = node[2]
            key = call_key(sc.pf.text_of(right))
            if not any(v[0] == "ret" for v in src):
                # not a call's result: no chain asks for it, but two such
                # statements of one text (root = __pa(sp->spt);) stay two
                sc.ordinals[key] = sc.ordinals.get(key, 0) + 1
                key = f"{key}#{sc.ordinals[key]}"
            here = ("def", sc.func, name, key)
            sc.flows_to(src, here)
            sc.flows_to({here}, node)
            sc.current[name] = here
            block.add(name)
            return
        if kind == "into":  # *p = v, p[i] = v: v is put where p points
            for label_node in node:
                for s in src:
                    sc.flow.inserts.append((s, label_node))
                    sc.flow.edges.append((s, label_node))
        else:
            sc.flows_to(src, node)

    def loop_macro(self, head: str) -> None:
        m = re.match(r"(\w+)\s*\((.*)\)\s*$", head, re.S)
        if m is None:
            return
        self.expand(m.group(1), split_args(m.group(2)), 0)

    def expand(self, name: str, args: list[str], depth: int) -> None:
        sc = self.scope
        if depth > 8:
            return
        if matches(name, "iterate"):
            if len(args) >= 2:
                pos = strip(args[0])
                if IDENT.match(pos):
                    head = self.values.text_value(args[1])
                    sc.note_heads(head)
                    sc.flows_to(head, sc.var(pos))
            return
        spec = sc.macros.get(name)
        if spec is None:
            return
        params, body = spec
        subst = dict(zip(params, args, strict=False))
        text = re.sub(r"\b\w+\b", lambda w: f"({subst[w.group()]})" if w.group() in subst
                      else w.group(), body)
        for call in re.finditer(r"\b(\w+)\s*\(", text):
            inner = balanced_from(text, call.end() - 1)
            if inner is not None and (call.group(1) in sc.macros
                                      or matches(call.group(1), "iterate")):
                self.expand(call.group(1), split_args(inner), depth + 1)
        # `pos = f(...)` inside a for-header
        for assign in re.finditer(r"\(\(?\s*(\w+)\s*\)?\)?\s*=\s*(\w+)\s*\(", text):
            inner = balanced_from(text, assign.end() - 1)
            if inner is not None and assign.group(1) in sc.locals:
                sc.flows_to(self.values.text_value(f"{assign.group(2)}({inner})"),
                            sc.var(assign.group(1)))

    def note_pointer(self, n: Node) -> None:
        sc = self.scope
        member = n.child_by_field_name("field")
        if member is None or sc.pf.text_of(member) not in sc.slots:
            return
        base = n.child_by_field_name("argument")
        if base is None:
            return
        from analyzer.facts import normalize_expr

        key = (sc.func, normalize_expr(sc.pf.text_of(base)))
        if key not in sc.flow.pointers:
            sc.flow.pointers[key] = sorted(self.values.value(base))
