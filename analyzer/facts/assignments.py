"""Executing the expression of an expression statement: assignments and
updates change role locals, scalar locals and role words, or store a role
into a slot; any other expression is only scanned for sites."""

from __future__ import annotations

from analyzer.cparse import Node
from analyzer.facts.dispatch import Handlers
from analyzer.facts.expressions import apply_mask
from analyzer.facts.records import Store
from analyzer.facts.syntax import normalize_expr, store_pointer
from analyzer.terms import Mask, Opaque, Unknown, Value


class Assignments(Handlers):
    def __call__(self, node: Node) -> None:
        handler = self.table.get(node.type)
        if handler is None:
            self.ex.sites.scan(node)
        else:
            handler(self, node)

    def COMMA_EXPRESSION(self, node: Node) -> None:
        for c in node.named_children:
            self(c)

    def UPDATE_EXPRESSION(self, node: Node) -> None:
        ex = self.ex
        arg = node.child_by_field_name("argument")
        target = ex.paths.local(arg)
        if target is not None:
            name, path = target
            val = ex.state.roles[name]
            if path in val.fields:
                op = ex.text(node.child_by_field_name("operator"))
                leaf = path.rsplit(".", 1)[-1]
                val.fields[path] = Opaque(f"{leaf}{op[0]}1", ex.step(node, self.write_kind(val)))
                self.note_write()
            return
        if arg is not None and arg.type == "identifier":
            ex.state.scalars[ex.text(arg)] = Unknown("updated")
        ex.sites.scan(node)

    def ASSIGNMENT_EXPRESSION(self, node: Node) -> None:
        ex = self.ex
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        ex.sites.scan(right)
        op = ex.text(node.child_by_field_name("operator"))
        if left is None or right is None:
            return
        # whole role local
        if left.type == "identifier" and ex.text(left) in ex.state.roles and op == "=":
            name = ex.text(left)
            val = ex.role(right)
            if val is None:
                val = ex.word(right)
            rtype = ex.role_vars.get(name) or ex.state.roles[name].type
            if val is None or val.type != rtype:
                val = ex.unknown_value(rtype, ex.step(node, "def"))
            ex.state.roles[name] = val.copy()
            ex.state.gens[name] = ex.facts.new_id()
            return
        if left.type == "identifier":
            name = ex.text(left)
            if op == "=":
                word = ex.word(right)
                if word is not None:
                    ex.state.words[name] = word
                    return
                ex.state.scalars[name] = ex.scalar(right, ex.step(node, "def"))
            else:
                ex.state.words.pop(name, None)
                ex.state.scalars[name] = Opaque(normalize_expr(ex.text(node)), ex.step(node, "def"))
            return
        target = ex.paths.local(left)
        if target is not None:
            self.local(node, target, op, right)
            return
        slot = ex.paths.slot(left)
        if slot is not None:
            self.slot(node, slot, op, right)

    def local(self, node: Node, target: tuple[str, str], op: str, right: Node) -> None:
        """``role.f = v``, ``role.word = w``, ``role.base = r``, ``role.word &= m``..."""
        ex = self.ex
        name, path = target
        val = ex.state.roles[name]
        kind, prefix, _sub = ex.paths.classify(val.type, path)
        st = ex.step(node, self.write_kind(val))
        if kind == "field":
            if op == "=":
                val.fields[path] = ex.scalar(right, st)
            else:
                val.fields[path] = Opaque(normalize_expr(ex.text(node)), st)
            self.note_write()
        elif kind in ("word", "sub"):
            leaves = [p for p in val.fields if p == prefix or p.startswith(prefix + ".") or not prefix]
            if op == "=":
                src = ex.role(right) if kind == "sub" else ex.word(right)
                if src is None and kind == "sub":
                    src = ex.word(right)
                if src is None and kind == "word":
                    src = ex.role(right)
                for leaf in leaves:
                    rel = leaf[len(prefix) + 1:] if prefix else leaf
                    term = src.fields.get(rel) if src is not None else None
                    if term is None:
                        term = Opaque(normalize_expr(ex.text(right)), st) if src is None else Unknown("type", st)
                    val.fields[leaf] = term
            elif op in ("&=",):
                mask = ex.word.mask_of(right)
                for leaf in leaves:
                    rel = leaf[len(prefix) + 1:] if prefix else leaf
                    val.fields[leaf] = apply_mask(val.fields[leaf], mask, rel, ex.step(node, "mask"))
            else:
                for leaf in leaves:
                    val.fields[leaf] = Opaque(normalize_expr(ex.text(node)), st)
            self.note_write()

    def slot(self, node: Node, slot: tuple[str, str], op: str, right: Node) -> None:
        """A store into a struct member of role type: whole, or one field."""
        ex = self.ex
        slot_name, path = slot
        rtype = ex.model.slots[slot_name]
        kind, prefix, sub = ex.paths.classify(rtype, path)
        st = ex.step(node, "store")
        ex.mark_role_flow()
        sid = ex.facts.new_id()
        cond = ex.binder.cond_now()
        val = None
        if kind in ("word", "sub", "whole") and op == "=":
            val = ex.role(right) if kind != "word" else ex.word(right)
            if val is None:
                val = ex.word(right) if kind != "word" else ex.role(right)
            if val is not None and val.type != (sub or rtype):
                val = None
        if val is not None and not prefix:
            ex.facts.stores.append(Store(sid, ex.func, slot_name, val.copy(), "", st, cond))
            return
        part: object = None
        if kind == "field":
            part = ex.scalar(right, st) if op == "=" else Opaque(normalize_expr(ex.text(node)), st)
        elif val is not None:
            part = val.copy()  # ``.base = r``, ``.base.word = w``
        elif kind == "word" and op == "&=":
            part = Mask(*ex.word.mask_of(right))
        ex.facts.stores.append(Store(sid, ex.func, slot_name, None, path, st, cond, part))
        if kind == "sub" and "." not in path and isinstance(part, Value):
            self.pieced(slot_name, rtype, st, cond)

    def pieced(self, slot_name: str, rtype: str, st, cond) -> None:
        """A whole store made of pieces (``c->mmu_role.base = b;
        c->mmu_role.ext = e;``): when the partial stores through one pointer
        since its last whole store in this function have written every
        member of the role, under one condition and nothing else, the role
        they make is stored whole, at the last piece."""
        ex = self.ex
        rt = ex.model.types.get(rtype)
        if rt is None or not rt.subs or rt.fields:
            return  # only a role made of sub roles alone is written whole so
        via = store_pointer(st.text, slot_name)
        got: dict[str, object] = {}
        for s in reversed(ex.facts.stores):
            if s.func != ex.func:
                break
            if s.slot != slot_name or store_pointer(s.step.text, s.slot) != via:
                continue
            if s.value is not None:
                break  # the pieces after a whole store change what it stored
            if s.cond != cond or not (s.path in rt.subs and isinstance(s.part, Value)):
                return
            got.setdefault(s.path, s.part)  # the last piece of a member counts
        if set(got) != set(rt.subs):
            return
        fields = {f"{m}.{leaf}": t for m, part in got.items() for leaf, t in part.fields.items()}
        if set(fields) != set(ex.model.leaves(rtype)):
            return
        ex.facts.stores.append(Store(ex.facts.new_id(), ex.func, slot_name, Value(rtype, fields),
                                     "", st, cond))

    def write_kind(self, val: Value) -> str:
        return "def" if val.fresh else "override"

    def note_write(self) -> None:
        if self.ex.info is not None:
            self.ex.info.defines_fields = True
        self.ex.mark_role_flow()
