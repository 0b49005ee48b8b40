"""Places: members and subscripts, read through what their root is (the
vCPU, the MMU context, a role or another struct, a scalar)."""

from __future__ import annotations

from analyzer.state_reads.frame import Frame
from analyzer.state_reads.part import Part
from analyzer.state_reads.tree import Syn
from analyzer.state_values import P, Read, S, V, join_path, norm_path, val
from analyzer.statesym import UNKNOWN, op

MMU_MEMBERS = frozenset({"mmu", "root_mmu", "guest_mmu", "nested_mmu", "walk_mmu"})


class Places(Part):
    def of(self, frame: Frame, node: Syn, depth: int) -> tuple[object, list[str]]:
        """The root of a place and the members and subscripts (``[]``) on
        the way from it."""
        path: list[str] = []
        while node is not None:
            if node.type == "field_expression":
                fld = node.field("field")
                path.insert(0, fld.text if fld is not None else "?")
                node = node.field("argument")
            elif node.type == "subscript_expression":
                path.insert(0, "[]")
                node = node.field("argument")
            elif node.type == "parenthesized_expression" and node.named_children:
                node = node.named_children[-1]
            else:
                break
        root = self.ix.expr(frame, node, depth) if node is not None else V(UNKNOWN)
        if isinstance(root, P) and root.kind == "struct":
            root = root.target
        return root, path

    def member(self, frame: Frame, node: Syn, root: object, path: list[str]) -> object:
        ix = self.ix
        if not path:
            return root
        if isinstance(root, P):
            if root.kind == "vcpu":
                return self.vcpu_member(frame, node, path)
            if root.kind == "ctx":
                full = join_path(root.path, path)
                head = full.split(".", 1)[0]
                if head in ix.sources.slots:
                    return V(("r", f"ctx.{norm_path(full)}"))
                got = ix.ctx_writes.get(full)
                if isinstance(got, V):
                    return got
                return V(("h", f"ctx:{norm_path(full)}"))
            if root.kind == "mmu":
                if any(p in ix.sources.slots for p in path):
                    return V(("r", f"{root.path}.{'.'.join(path)}"))
                return V(("h", f"{root.path}.{'.'.join(path)}"))
            return V(UNKNOWN)
        if isinstance(root, S):
            if root.rtype is not None:
                prefix, word_type = ix.navigate(root.rtype, path)
                if word_type is not None:
                    leaves = [v for leaf, v in root.fields.items() if not prefix or leaf.startswith(prefix + ".")]
                    return val(("op", "word", *(v.sym for v in leaves)), *leaves)
                if prefix and prefix.count(".") + 1 == len(path):
                    sub = {leaf[len(prefix) + 1:]: v for leaf, v in root.fields.items()
                           if leaf.startswith(prefix + ".")}
                    return S(sub, ix.sub_type(root.rtype, path), root.free)
                key = ix.leaf(root.rtype, ".".join(path))
                return root.get(key) if key is not None else V(UNKNOWN)
            key = ".".join(path)
            if key in root.fields or root.free or not any(k.startswith(key + ".") for k in root.fields):
                return root.get(key)
            return S({k[len(key) + 1:]: v for k, v in root.fields.items() if k.startswith(key + ".")})
        if isinstance(root, V):
            return val(op("member:" + ".".join(path), root.sym), root.reads)
        return V(UNKNOWN)

    def vcpu_member(self, frame: Frame, node: Syn, path: list[str]) -> object:
        if path[0] != "arch" or len(path) < 2:
            return V(("h", "vcpu->" + ".".join(path)))  # the VM (vcpu->kvm), not the vCPU
        if any(p in self.ix.sources.slots for p in path):
            return V(("r", "vcpu->" + ".".join(path)))
        if path[1] in MMU_MEMBERS:
            return V(("h", "vcpu->" + ".".join(path)))
        storage = f"arch.{path[1]}"
        atom = ("a", storage, None)
        read = Read(atom, frame.step(node, "read"), "", (), frame.guard(), frozenset({path[1]}), frame.ident)
        return V(atom, frozenset({read}))

    def word(self, frame: Frame, node: Syn, depth: int) -> S | None:
        """A role word (``mask.word``, ``role.base.word``) as the role it is:
        its leaves, named from the word's own type."""
        if node.type not in ("field_expression", "parenthesized_expression"):
            return None
        root, path = self.of(frame, node, depth)
        if not isinstance(root, S) or root.rtype is None or not path:
            return None
        prefix, rtype = self.ix.navigate(root.rtype, path)
        if rtype is None:
            return None
        cut = len(prefix) + 1 if prefix else 0
        return S({leaf[cut:]: v for leaf, v in root.fields.items()
                  if not prefix or leaf.startswith(prefix + ".")}, rtype)
