"""Reading an expression three ways: as a role value (``Roles``), as the
whole word of a role (``Words``) and as a scalar term (``Scalars``). Each
is called on a node and has one handler per node type it understands."""

from __future__ import annotations

import re

from analyzer.cparse import Node
from analyzer.facts.dispatch import Handlers
from analyzer.facts.syntax import normalize_expr, only_child, parse_int, role_type_of, unwrap
from analyzer.terms import Const, Ite, Named, Opaque, Origin, Ref, Scalar, Step, Unknown, Value

_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


class _ValueReader(Handlers):
    """Reads through parentheses and casts; a node type without a handler
    denotes no value (None)."""

    def __call__(self, node: Node | None) -> Value | None:
        node = unwrap(node)
        if node is None:
            return None
        handler = self.table.get(node.type)
        return handler(self, node) if handler is not None else None


class Roles(_ValueReader):
    """The role value an expression denotes, or None if it is not a role."""

    def IDENTIFIER(self, node: Node) -> Value | None:
        ex = self.ex
        name = ex.text(node)
        if name in ex.state.roles:
            return ex.state.roles[name].copy()
        if name in ex.facts.globals:
            return ex.facts.globals[name].copy()
        return None

    def FIELD_EXPRESSION(self, node: Node) -> Value | None:
        ex = self.ex
        local = ex.paths.local(node)
        if local is not None:
            name, path = local
            return self._sub_role(ex.state.roles[name], path)
        chain = ex.paths.chain(node)
        if chain is not None:
            base, names = chain
            if base.type == "identifier" and ex.text(base) in ex.facts.globals and names:
                return self._sub_role(ex.facts.globals[ex.text(base)], ".".join(names))
        slot = ex.paths.slot(node)
        if slot is not None:
            slot_name, path = slot
            rtype = ex.model.slots[slot_name]
            kind, prefix, sub_type = ex.paths.classify(rtype, path)
            if kind in ("whole", "sub") and sub_type is not None:
                ex.mark_role_flow()
                st = ex.step(node, "load")
                return ex.origin_value(sub_type, ex.paths.load_origin(node, slot_name, prefix), st)
        return None

    def _sub_role(self, val: Value, path: str) -> Value | None:
        """``role.base`` of a role local or global: the sub-role it names."""
        kind, prefix, sub_type = self.ex.paths.classify(val.type, path)
        if kind == "sub" and sub_type is not None:
            return val.sub(prefix, sub_type, self.ex.leaves(sub_type))
        return None

    def CALL_EXPRESSION(self, node: Node) -> Value | None:
        ex = self.ex
        callee = ex.sites.callee_name(node)
        info = ex.facts.functions.get(callee) if callee else None
        if info is not None and info.returns_role:
            site = ex.sites.call_site(node)
            st = ex.step(node, "call")
            ex.mark_role_flow()
            return ex.origin_value(info.returns_role, Origin("call", callee, ex.func, site), st)
        return None

    def CONDITIONAL_EXPRESSION(self, node: Node) -> Value | None:
        a = self(node.child_by_field_name("consequence"))
        b = self(node.child_by_field_name("alternative"))
        if a is None or b is None or a.type != b.type:
            return None
        cond = self.ex.cond(node.child_by_field_name("condition"))
        return Value(a.type, {p: (a.fields[p] if a.fields[p] == b.fields[p] else Ite(cond, a.fields[p], b.fields[p]))
                              for p in a.fields})

    def COMPOUND_LITERAL_EXPRESSION(self, node: Node) -> Value | None:
        rt = role_type_of(self.ex.text(node.child_by_field_name("type")), self.ex.model)
        val = node.child_by_field_name("value")
        if rt is not None and val is not None:
            return self.initializer(rt, val, "")
        return None

    def initializer(self, rtype: str, node: Node, name: str) -> Value:
        """Value of ``= {0}``, ``= { .f = v, ... }`` or ``= expr``."""
        ex = self.ex
        st = ex.step(node, "def")
        if node.type == "initializer_list":
            val = ex.zero_value(rtype, st)
            for item in node.named_children:
                if item.type == "initializer_pair":
                    desig = [ex.text(c).lstrip(".") for c in item.children_by_field_name("designator")]
                    vnode = item.child_by_field_name("value")
                    if not desig or vnode is None:
                        continue
                    path = ".".join(desig)
                    if path in val.fields:
                        val.fields[path] = ex.scalar(vnode, ex.step(item, "def"))
                    elif path in ex.model.types[rtype].words:
                        pass  # { .word = 0 } is the zero role
            return val
        got = self(node)
        if got is not None:
            return got
        word = ex.word(node)
        if word is not None:
            return word
        return ex.unknown_value(rtype, st)


class Words(_ValueReader):
    """The role value whose whole word an expression denotes (``r.word``,
    ``sp->role.word & mask.word``, a u32 local holding a role word)."""

    def IDENTIFIER(self, node: Node) -> Value | None:
        name = self.ex.text(node)
        if name in self.ex.state.words:
            return self.ex.state.words[name].copy()
        return None

    def FIELD_EXPRESSION(self, node: Node) -> Value | None:
        fnode = node.child_by_field_name("field")
        inner = node.child_by_field_name("argument")
        if fnode is None or inner is None:
            return None
        holder = self.ex.role(inner)
        if holder is None:
            return None
        kind, _ = self.ex.model.member(holder.type, self.ex.text(fnode))
        return holder if kind == "word" else None

    def BINARY_EXPRESSION(self, node: Node) -> Value | None:
        op = self.ex.text(node.child_by_field_name("operator"))
        if op != "&":
            return None
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        val, mask_node = self(left), right
        if val is None:
            val, mask_node = self(right), left
        if val is None:
            return None
        mask = self.mask_of(mask_node)
        st = self.ex.step(node, "mask")
        out = val.copy()
        for p in out.fields:
            out.fields[p] = apply_mask(out.fields[p], mask, p, st)
        return out

    def mask_of(self, node: Node) -> tuple[Value | None, bool]:
        """(mask role value, inverted) for ``m.word`` or ``~m.word``."""
        inverted = False
        while node is not None and node.type in ("unary_expression", "parenthesized_expression"):
            if node.type == "unary_expression":
                if self.ex.text(node.child_by_field_name("operator")) != "~":
                    break
                inverted = not inverted
                node = node.child_by_field_name("argument")
            else:
                inner = only_child(node)
                if inner is None:
                    break
                node = inner
        return (self(node), inverted)


def apply_mask(term, mask: tuple[Value | None, bool], rel: str, st: Step):
    """A field's term after masking the word: kept, cleared, or unknown."""
    mval, inverted = mask
    if mval is None:
        return Opaque(f"masked({_term_text(term)})", st)
    bit = mval.fields.get(rel)
    if not isinstance(bit, Const):
        return Opaque(f"masked({_term_text(term)})", st)
    keep = bool(bit.value) != inverted
    return term if keep else Const(0, st)


def _term_text(term) -> str:
    if isinstance(term, Const):
        return str(term.value)
    if isinstance(term, Named):
        return term.name
    if isinstance(term, Opaque):
        return term.text
    if isinstance(term, Ref):
        return f"{term.origin.name}.{term.path}"
    if isinstance(term, Scalar):
        return term.name
    return "?"


class Scalars(Handlers):
    """The term of a scalar expression (a field value, a call argument).
    A handler returns None for what it does not know: that becomes the
    expression's text, after its call and compare sites are registered."""

    def __call__(self, node: Node | None, st: Step):
        node = unwrap(node)
        if node is None:
            return Unknown("missing", st)
        handler = self.table.get(node.type)
        if handler is not None:
            term = handler(self, node, st)
            if term is not None:
                return term
        self.ex.sites.scan(node)
        return Opaque(normalize_expr(self.ex.text(node)), st)

    def NUMBER_LITERAL(self, node: Node, st: Step):
        v = parse_int(self.ex.text(node))
        return Const(v, st) if v is not None else Opaque(self.ex.text(node), st)

    def TRUE(self, node: Node, st: Step):
        return Const(1, st)

    def FALSE(self, node: Node, st: Step):
        return Const(0, st)

    def IDENTIFIER(self, node: Node, st: Step):
        name = self.ex.text(node)
        if name in self.ex.state.scalars:
            term = self.ex.state.scalars[name]
            if isinstance(term, Scalar) and st.line:
                return Scalar(term.func, term.name, st)
            return term
        if _UPPER.match(name):
            return Named(name, st)
        return Opaque(name, st)

    def FIELD_EXPRESSION(self, node: Node, st: Step):
        ex = self.ex
        local = ex.paths.local(node)
        if local is not None:
            name, path = local
            val = ex.state.roles[name]
            if path in val.fields:
                return val.fields[path]
        chain = ex.paths.chain(node)
        if chain is not None:
            base, names = chain
            if base.type == "identifier" and ex.text(base) in ex.facts.globals:
                path = ".".join(names)
                gval = ex.facts.globals[ex.text(base)]
                if path in gval.fields:
                    return gval.fields[path]
        slot = ex.paths.slot(node)
        if slot is not None:
            slot_name, path = slot
            rtype = ex.model.slots[slot_name]
            if path in ex.leaves(rtype):
                ex.mark_role_flow()
                return Ref(ex.paths.load_origin(node, slot_name), path, ex.step(node, "load"))
        return None

    def CONDITIONAL_EXPRESSION(self, node: Node, st: Step):
        cond = self.ex.cond(node.child_by_field_name("condition"))
        a = self(node.child_by_field_name("consequence"), st)
        b = self(node.child_by_field_name("alternative"), st)
        return a if a == b else Ite(cond, a, b, st)

    def UNARY_EXPRESSION(self, node: Node, st: Step):
        if self.ex.text(node.child_by_field_name("operator")) != "!":
            return None
        inner = self(node.child_by_field_name("argument"), st)
        if isinstance(inner, Const):
            return Const(0 if inner.value else 1, st)
        return None
