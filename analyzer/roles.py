"""The role model: which C types are roles, their bitfields, and which struct
members store them.

A role type is recognized by structure, not by name: a union that has a
whole-word integer member (``word``, ``as_u64``) and either an anonymous struct
of bitfields or members whose types are other role unions (``base``, ``ext``).
Struct members of role type are *slots*: where roles are stored and loaded.
The header of the tree is read when present; rules/role-types.toml holds the
defaults for when it is not.
"""

from __future__ import annotations

import tomllib

from analyzer.record import field, record
from analyzer.ruledata import rule_file


@record
class RoleType:
    name: str
    words: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    subs: dict[str, str] = field(default_factory=dict)


@record
class RoleModel:
    types: dict[str, RoleType] = field(default_factory=dict)
    slots: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"
    _leaf_cache: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def is_role(self, type_name: str | None) -> bool:
        return type_name is not None and type_name in self.types

    def leaves(self, type_name: str) -> list[str]:
        """Flattened leaf field paths of a role type: ``level`` or ``base.level``."""
        if type_name in self._leaf_cache:
            return self._leaf_cache[type_name]
        rt = self.types[type_name]
        out = list(rt.fields)
        for member, sub in rt.subs.items():
            if sub in self.types and sub != type_name:
                out.extend(f"{member}.{leaf}" for leaf in self.leaves(sub))
        self._leaf_cache[type_name] = out
        return out

    def member(self, type_name: str, name: str) -> tuple[str, str | None]:
        """What ``value.name`` is for a value of ``type_name``: ("word", None),
        ("sub", subtype), ("field", None) or ("none", None)."""
        rt = self.types.get(type_name)
        if rt is None:
            return ("none", None)
        if name in rt.words:
            return ("word", None)
        if name in rt.subs and rt.subs[name] in self.types:
            return ("sub", rt.subs[name])
        if name in rt.fields:
            return ("field", None)
        return ("none", None)


def default_model() -> RoleModel:
    data = tomllib.loads(rule_file("role-types.toml").read_text())
    model = RoleModel(source="defaults")
    for name, spec in data["types"].items():
        model.types[name] = RoleType(
            name=name,
            words=list(spec.get("words", [])),
            fields=list(spec.get("fields", [])),
            subs=dict(spec.get("subs", {})),
        )
    model.slots = dict(data.get("slots", {}))
    return model


def _type_name(node, text_of) -> str | None:
    """``union kvm_mmu_page_role`` -> ``kvm_mmu_page_role``; typedef names as is."""
    if node is None:
        return None
    if node.type in ("union_specifier", "struct_specifier"):
        name = node.child_by_field_name("name")
        return text_of(name) if name is not None else None
    if node.type == "type_identifier":
        return text_of(node)
    return None


def _declarator_name(node, text_of) -> str | None:
    while node is not None and node.type not in ("field_identifier", "identifier"):
        if node.type == "array_declarator" or node.type == "pointer_declarator":
            return None  # arrays/pointers of roles are not role values
        node = node.child_by_field_name("declarator")
    return text_of(node) if node is not None else None


def _scan_union(node, text_of):
    """Return (words, bitfields, typed members) of a union body."""
    words: list[str] = []
    bitfields: list[str] = []
    typed: dict[str, str] = {}
    body = node.child_by_field_name("body")
    if body is None:
        return None
    for decl in body.named_children:
        if decl.type != "field_declaration":
            continue
        tnode = decl.child_by_field_name("type")
        declarators = decl.children_by_field_name("declarator")
        if tnode is not None and tnode.type == "struct_specifier" and tnode.child_by_field_name("name") is None:
            inner = tnode.child_by_field_name("body")
            if inner is None:
                continue
            for fd in inner.named_children:
                if fd.type != "field_declaration":
                    continue
                has_bits = any(c.type == "bitfield_clause" for c in fd.named_children)
                ftype = _type_name(fd.child_by_field_name("type"), text_of)
                for d in fd.children_by_field_name("declarator"):
                    name = _declarator_name(d, text_of)
                    if name is None:
                        continue
                    if has_bits:
                        bitfields.append(name)
                    elif ftype is not None:
                        typed[name] = ftype
            continue
        has_bits = any(c.type == "bitfield_clause" for c in decl.named_children)
        tname = _type_name(tnode, text_of)
        for d in declarators:
            name = _declarator_name(d, text_of)
            if name is None:
                continue
            if has_bits:
                bitfields.append(name)
            elif (tnode is not None and tnode.type in ("primitive_type", "sized_type_specifier")) or (
                tnode is not None and tnode.type == "type_identifier" and text_of(tnode) in _INT_TYPES
            ):
                words.append(name)
            elif tname is not None:
                typed[name] = tname
    return words, bitfields, typed


_INT_TYPES = {"u8", "u16", "u32", "u64", "__u32", "__u64", "uint32_t", "uint64_t", "ulong"}


# Nodes below which no role type or role-typed member is declared: a
# function's body, and expressions. Not walking them keeps this cheap.
_NO_TYPES_INSIDE = frozenset({
    "function_definition", "expression_statement", "call_expression", "initializer_list",
    "preproc_def", "preproc_function_def", "string_literal", "comment",
})


def model_from_parsed(parsed_files) -> RoleModel | None:
    """Build the model from parsed headers/sources; None when no role union is
    defined in them."""
    unions: dict[str, tuple[list[str], list[str], dict[str, str]]] = {}
    members: list[tuple[str, str]] = []  # (member name, type name) of every struct/union member
    for pf in parsed_files:
        stack = [pf.root]
        while stack:
            node = stack.pop()
            if node.type == "union_specifier" and node.child_by_field_name("body") is not None:
                name = node.child_by_field_name("name")
                scanned = _scan_union(node, pf.text_of)
                if name is not None and scanned is not None:
                    unions[pf.text_of(name)] = scanned
            if node.type == "field_declaration":
                tname = _type_name(node.child_by_field_name("type"), pf.text_of)
                if tname is not None:
                    for d in node.children_by_field_name("declarator"):
                        mname = _declarator_name(d, pf.text_of)
                        if mname is not None:
                            members.append((mname, tname))
            if node.type not in _NO_TYPES_INSIDE:
                stack.extend(node.named_children)
    model = RoleModel(source="header")
    # Base roles: a word alias plus bitfields.
    for name, (words, bits, _typed) in unions.items():
        if words and len(bits) >= 2:
            model.types[name] = RoleType(name=name, words=words, fields=bits)
    # Wrappers: a word alias plus members of role type; repeat to a fixpoint.
    changed = True
    while changed:
        changed = False
        for name, (words, _bits, typed) in unions.items():
            if name in model.types or not words:
                continue
            subs = {m: t for m, t in typed.items() if t in model.types}
            if subs:
                model.types[name] = RoleType(name=name, words=words, subs=subs)
                changed = True
    if not model.types:
        return None
    for mname, tname in members:
        # members inside role unions (base/ext) are sub-roles, not slots
        if tname in model.types and not any(mname in rt.subs for rt in model.types.values()):
            model.slots.setdefault(mname, tname)
    return model
