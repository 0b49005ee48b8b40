"""Values: the nodes whose labels an expression carries, read from the
syntax tree or from the text of a macro argument; and the place an
assignment writes (a variable or member, or where a pointer points)."""

from __future__ import annotations

import re

from analyzer.containers.scope import Scope
from analyzer.containers.text import IDENT, balanced_from, matches, strip
from analyzer.cparse import Node
from analyzer.facts.syntax import split_args


class Values:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def value(self, n: Node | None) -> set[tuple]:
        """Nodes whose labels the expression's value carries."""
        sc = self.scope
        if n is None:
            return set()
        t = n.type
        if t == "identifier":
            name = sc.pf.text_of(n)
            if name in sc.locals:
                return {sc.read(name)}
            if name.isupper() or name in ("NULL", "true", "false") or name in sc.members:
                return set()  # a constant, or a member named to a list macro
            return {("global", name)}
        if t in ("parenthesized_expression", "cast_expression", "pointer_expression",
                 "comma_expression"):
            kids = [c for c in n.named_children if c.type != "type_descriptor"]
            return self.value(kids[-1]) if kids else set()
        if t == "subscript_expression":
            inner = n.child_by_field_name("argument")
            if inner is not None and inner.type == "field_expression" and sc.member_root(inner) is None:
                return {_element(sc.member_node(inner))}  # mmu->pae_root[i]: an element
            return self.value(inner)
        if t == "field_expression":
            via = sc.member_root(n)
            if via is not None:
                return {sc.read(via[1])}
            base = n.child_by_field_name("argument")
            if base is not None and base.type == "call_expression":
                inner = self.value(base)
                if inner and self.returns_page(base):
                    return inner
            if base is not None and base.type == "identifier" and self.struct_pointer(base):
                # a member read through a parameter pointing at a struct
                # (is_root_usable(&root, ...)'s root->hpa): also what the
                # caller's struct holds
                return {sc.member_node(n), ("var", sc.func, sc.pf.text_of(base))}
            return {sc.member_node(n)}
        if t == "conditional_expression":
            kids = n.named_children
            out: set = set()
            for k in kids[1:]:
                out |= self.value(k)
            return out
        if t == "call_expression":
            return self.call(n)
        if t == "binary_expression":
            out = set()
            for k in n.named_children:
                out |= self.value(k)
            return out
        if t == "assignment_expression":
            return self.value(n.child_by_field_name("right"))
        return set()

    def target(self, left: Node) -> tuple[str, object] | None:
        sc = self.scope
        t = left.type
        if t == "identifier":
            return ("to", sc.var(sc.pf.text_of(left)))
        if t == "pointer_expression" or t == "subscript_expression":
            inner = left.child_by_field_name("argument") or left.child_by_field_name("array")
            if inner is None:
                return None
            if t == "subscript_expression" and inner.type == "field_expression":
                if sc.member_root(inner) is None:
                    return ("to", _element(sc.member_node(inner)))
                return ("to", sc.member_node(inner))
            return ("into", self.value(inner))
        if t == "field_expression":
            via = sc.member_root(left)
            if via is not None and via[0] == "page":
                return None  # writing a member of a page does not move the page
            if via is not None:
                return ("to", sc.var(via[1]))  # a member of a local struct
            return ("to", sc.member_node(left))
        if t == "parenthesized_expression":
            inner = next((c for c in left.named_children), None)
            return self.target(inner) if inner is not None else None
        return None

    def struct_pointer(self, ident: Node) -> bool:
        """A parameter of a pointer-to-struct type that is not a page."""
        sc = self.scope
        name = sc.pf.text_of(ident)
        params = {p for _t, p in sc.fd.params}
        t = sc.locals.get(name, "")
        return name in params and "*" in t and "struct" in t and not sc.is_page(name)

    def returns_page(self, call: Node) -> bool:
        return True

    def call(self, n: Node) -> set[tuple]:
        sc = self.scope
        fn = n.child_by_field_name("function")
        args_node = n.child_by_field_name("arguments")
        args = [c for c in args_node.named_children] if args_node is not None else []
        name = sc.pf.text_of(fn) if fn is not None else ""
        name = " ".join(name.split())
        if name in sc.defined:
            vals = [self.value(a) for a in args]
            sc.flow.edges.extend(
                (s, ("param", name, i)) for i, v in enumerate(vals) for s in v)
            return {("ret", name)}
        vals = [self.value(a) for a in args]
        if matches(name, "insert") and len(vals) >= 2:
            sc.note_heads(vals[1])
            for page in vals[0]:
                for head in vals[1]:
                    sc.flow.inserts.append((page, head))
            return set()
        if matches(name, "store") and len(args) >= 2:
            target = self.target(args[0])
            if target is not None and target[0] == "into":
                for label_node in target[1]:
                    for s in vals[1]:
                        sc.flow.inserts.append((s, label_node))
                        sc.flow.edges.append((s, label_node))
            return set()
        if matches(name, "swap") and len(vals) >= 2:
            a, b = self.target(args[0]), self.target(args[1])
            for tgt, src in ((a, vals[1]), (b, vals[0])):
                if tgt is not None and tgt[0] == "to":
                    sc.flows_to(src, tgt[1])
            return set()
        if matches(name, "element") and vals:
            sc.note_heads(vals[0])
        # a call the files do not define hands on what its first argument
        # points at (__pa(x), to_shadow_page(hpa), list_first_or_null_rcu(head, ...))
        return vals[0] if vals else set()

    def text_value(self, text: str) -> set[tuple]:
        """The value of an expression written as text (a macro argument)."""
        sc = self.scope
        text = strip(text)
        if IDENT.match(text):
            if text in sc.locals:
                return {sc.read(text)}
            return set() if text.isupper() or text in sc.members else {("global", text)}
        m = re.match(r"(\w+)\s*\(", text)
        if m is not None and balanced_from(text, m.end() - 1) is not None:
            inner = balanced_from(text, m.end() - 1) or ""
            name = m.group(1)
            vals = [self.text_value(a) for a in split_args(inner)]
            if matches(name, "element") and vals:
                sc.note_heads(vals[0])
            if name in sc.defined:
                for i, v in enumerate(vals):
                    for s in v:
                        sc.flow.edges.append((s, ("param", name, i)))
                return {("ret", name)}
            return vals[0] if vals else set()
        chain = re.match(r"\(?\s*(\w+)\s*\)?((?:\s*(?:->|\.)\s*\w+|\s*\[[^\]]*\])+)\s*$", text)
        if chain is not None:
            base, rest = chain.group(1), chain.group(2)
            members = re.findall(r"(?:->|\.)\s*(\w+)", rest)
            if sc.is_page(base):
                return {sc.read(base)}
            if members:
                return {("field", members[-1])}
        return set()


def _element(member: tuple) -> tuple:
    """The elements of an array member (``pae_root[]``), told from the
    member itself: ``__pa(mmu->pae_root)`` is the array's address, not one
    of the pages its elements point to."""
    return ("field", member[1] + "[]")
