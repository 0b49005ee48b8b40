"""Member paths: ``a.b.c``, ``p->q.r``, rooted at a role local or read
through a struct member of role type (a slot), and what a path names in a
role type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.cparse import Node
from analyzer.facts.syntax import normalize_expr, only_child
from analyzer.terms import Origin

if TYPE_CHECKING:
    from analyzer.facts.executor import Executor


class Paths:
    def __init__(self, ex: Executor) -> None:
        self.ex = ex

    def chain(self, node: Node) -> tuple[Node, list[str]] | None:
        """``a.b.c`` / ``p->q.r`` -> (base node, [members]) for field expressions."""
        names: list[str] = []
        while node is not None and node.type in ("field_expression", "parenthesized_expression"):
            if node.type == "parenthesized_expression":
                node = only_child(node)
                if node is None:
                    return None
                continue
            fnode = node.child_by_field_name("field")
            if fnode is None:
                return None
            names.append(self.ex.text(fnode))
            node = node.child_by_field_name("argument")
        if node is None:
            return None
        names.reverse()
        return node, names

    def local(self, node: Node) -> tuple[str, str] | None:
        """A member path rooted at a role local: (local name, path)."""
        chain = self.chain(node)
        if chain is None:
            return None
        base, names = chain
        if base.type != "identifier" or not names:
            return None
        name = self.ex.text(base)
        if name not in self.ex.state.roles:
            return None
        return name, ".".join(names)

    def slot(self, node: Node) -> tuple[str, str] | None:
        """A member path through a struct member of role type: (slot, path in it)."""
        chain = self.chain(node)
        if chain is None:
            return None
        base, names = chain
        if base.type == "identifier" and self.ex.text(base) in self.ex.state.roles:
            return None
        for i in range(len(names) - 1, -1, -1):
            if names[i] in self.ex.model.slots:
                return names[i], ".".join(names[i + 1:])
        return None

    def classify(self, rtype: str, path: str) -> tuple[str, str, str | None]:
        """("field"|"word"|"sub"|"whole"|"none", prefix of the role it names, sub type)."""
        if not path:
            return ("whole", "", rtype)
        parts = path.split(".")
        cur = rtype
        prefix: list[str] = []
        for i, part in enumerate(parts):
            kind, sub = self.ex.model.member(cur, part)
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

    def load_origin(self, node: Node, slot: str, sub: str = "") -> Origin:
        """The origin of a load: one per slot and pointer in a function, so
        two reads of ``sp->role`` agree and ``parent->role`` stays apart."""
        text = normalize_expr(self.ex.text(node))
        cut = max(text.rfind("->" + slot), text.rfind("." + slot))
        via = normalize_expr(text[:cut]) if cut > 0 else text
        return Origin("load", slot, self.ex.func, sub=sub, via=via)
