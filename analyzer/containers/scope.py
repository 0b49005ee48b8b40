"""What the walk of one function knows: the function, the file's flow it
adds to, what the files define, and the function's locals with their
types; and the small steps every part of the walk takes (a name's node, a
flow edge)."""

from __future__ import annotations

import re

from analyzer.containers.records import FileFlow
from analyzer.containers.text import chain_root, member_names
from analyzer.cparse import FunctionDef, Node, ParsedFile


class Scope:
    def __init__(self, pf: ParsedFile, fd: FunctionDef, flow: FileFlow, slots: set[str],
                 page_types: set[str], defined: set[str], macros: dict) -> None:
        self.pf, self.fd, self.flow = pf, fd, flow
        self.func = fd.name
        self.slots, self.page_types, self.defined, self.macros = slots, page_types, defined, macros
        self.members = member_names(pf)
        self.locals: dict[str, str] = {name: type_text for type_text, name in fd.params if name}
        flow.params[self.func] = [name for _t, name in fd.params]
        # local -> the definition its uses read here (FunctionFlow.assignment)
        self.current: dict[str, tuple] = {}
        self.ordinals: dict[str, int] = {}  # text -> definitions of it so far

    def read(self, name: str) -> tuple:
        """The node a use of a local reads: the definition that reaches it
        (``current``), else the local's node of every definition."""
        return self.current.get(name) or self.var(name)

    def var(self, name: str) -> tuple:
        if name in self.locals:
            return ("var", self.func, name)
        return ("global", name)

    def is_page(self, name: str) -> bool:
        t = self.locals.get(name, "")
        m = re.search(r"struct\s+(\w+)\s*\*", t)
        return bool(m and m.group(1) in self.page_types)

    def note_heads(self, values: set[tuple]) -> None:
        self.flow.heads.update(values)

    def flows_to(self, src: set[tuple], dst: tuple) -> None:
        """An edge from each of ``src`` to ``dst``. A local written this
        way (or a member of it) is no longer the one definition above: its
        uses below read every definition again."""
        if dst[0] == "var":
            self.current.pop(dst[2], None)
        for s in src:
            if s != dst:
                self.flow.edges.append((s, dst))

    def member_node(self, n: Node) -> tuple:
        member = n.child_by_field_name("field")
        return ("field", self.pf.text_of(member) if member is not None else "?")

    def member_root(self, n: Node) -> tuple[str, str] | None:
        """What a member access (``p->m``, ``s.m``) is read through, when
        it is the variable itself: ("page", p) for a page pointer (its
        members are the page), ("struct", s) for a local struct; else None."""
        base = n.child_by_field_name("argument")
        root = chain_root(base)
        if root is None or root.type != "identifier":
            return None
        name = self.pf.text_of(root)
        if self.is_page(name):
            return ("page", name)
        if name in self.locals and "*" not in self.locals[name] and base is root:
            return ("struct", name)
        return None
