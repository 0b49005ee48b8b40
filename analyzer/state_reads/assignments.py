"""Assignments: to a local, to a member of a struct or role held in a
local, and through the MMU context (a store, kept when it is in the
region the comparison skips)."""

from __future__ import annotations

from analyzer.state_reads.frame import Frame
from analyzer.state_reads.part import Part
from analyzer.state_reads.tree import Syn
from analyzer.state_values import (
    P,
    S,
    Sink,
    V,
    ite_value,
    join_path,
    masked_leaf,
    reads_of,
    sym_of,
    val,
    with_reads,
    word_leaf,
)
from analyzer.statesym import TRUE, op


class Assignments(Part):
    def expression(self, frame: Frame, node: Syn, depth: int) -> object:
        """An ``assignment_expression``; its value is what it assigns."""
        ix = self.ix
        left = node.field("left")
        right = node.field("right")
        o = node.field("operator").text
        value = ix.place.word(frame, right, depth) or ix.expr(frame, right, depth)
        if left.type == "identifier":
            name = left.text
            if o != "=":
                old = ix.expr.identifier(frame, left)
                value = val(op(o[:-1], sym_of(old), sym_of(value)), reads_of(old), reads_of(value))
            self.local(frame, name, value)
            return value
        root, path = ix.place.of(frame, left, depth)
        if isinstance(root, P) and root.kind == "ctx":
            self.store(frame, node, join_path(root.path, path), value, o, right)
        elif isinstance(root, S) and path:
            self.member(frame, root, path, value, o)
        return value

    def local(self, frame: Frame, name: str, value: object) -> None:
        g = frame.local_guard()
        deps = frame.deps()
        old = frame.locals.get(name)
        if g == TRUE or old is None:
            frame.locals[name] = with_reads(value, deps)
            return
        frame.locals[name] = with_reads(ite_value(g, value, old), deps)

    def member(self, frame: Frame, target: S, path: list[str], value: object, o: str) -> None:
        ix = self.ix
        g = frame.local_guard()
        deps = frame.deps()
        if target.rtype is not None:
            prefix, word_type = ix.navigate(target.rtype, path)
            if word_type is not None:  # a whole word: every leaf under the prefix
                leaves = [leaf for leaf in target.fields if not prefix or leaf.startswith(prefix + ".")]
                for leaf in leaves:
                    short = leaf[len(prefix) + 1:] if prefix else leaf
                    new = word_leaf(value, short)
                    old = target.fields[leaf]
                    if o == "&=":
                        new = masked_leaf(old, new)
                    elif o != "=":
                        new = val(op(o[:-1], old.sym, new.sym), old.reads, new.reads)
                    target.fields[leaf] = with_reads(ite_value(g, new, old) if g != TRUE else new, deps)
                return
            if prefix and prefix.count(".") + 1 == len(path):  # a sub-role: ``role.ext = ...``
                for leaf in list(target.fields):
                    if leaf.startswith(prefix + "."):
                        new = word_leaf(value, leaf[len(prefix) + 1:])
                        old = target.fields[leaf]
                        target.fields[leaf] = with_reads(ite_value(g, new, old) if g != TRUE else new, deps)
                return
            key = ix.leaf(target.rtype, ".".join(path)) or ".".join(path)
        else:
            key = ".".join(path)
        new = value if isinstance(value, V) else V(sym_of(value), reads_of(value))
        old = target.fields.get(key)
        if o != "=" and old is not None:
            new = val(op(o[:-1], old.sym, new.sym), old.reads, new.reads)
        if old is not None and g != TRUE:
            new = ite_value(g, new, old)
        target.fields[key] = with_reads(new, deps)

    def store(self, frame: Frame, node: Syn, path: str, value: object, o: str, right: Syn) -> None:
        """An assignment through the context."""
        ix = self.ix
        reads = reads_of(value) | frame.deps()
        head = path.split(".", 1)[0]
        if head in ix.sources.slots:
            return  # the role itself
        fnptr = head in ix.fnptr_members or (isinstance(value, V) and bool(value.fn))
        ctx_writes = ix.ctx_writes
        old = ctx_writes.get(path)
        g = frame.local_guard()
        new = value if isinstance(value, V) else V(sym_of(value), reads_of(value))
        if o != "=":
            base = old if isinstance(old, V) else V(("h", f"ctx:{path}"))
            new = val(op(o[:-1], base.sym, new.sym), base.reads, new.reads)
            reads = reads | new.reads
        ctx_writes[path] = ite_value(g, new, old) if g != TRUE and isinstance(old, V) else new
        if frame.region:
            ix.result.sinks.append(Sink(path, frame.step(node, "store"), reads, fnptr, frame.calls,
                                        reads_of(value)))
