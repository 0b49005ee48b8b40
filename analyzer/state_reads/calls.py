"""Calls: followed into the functions the sources define (when their
result is used, they receive the context, or they are on the chain), read
as an accessor's summary, or kept as a value of their arguments."""

from __future__ import annotations

import re

from analyzer.state_reads.frame import Frame
from analyzer.state_reads.part import Part
from analyzer.state_reads.places import MMU_MEMBERS
from analyzer.state_reads.tree import Syn
from analyzer.state_values import P, Read, S, V, reads_of, render, sym_of
from analyzer.statesym import op

MAX_DEPTH = 14  # frames deep
# calls that only check (WARN conditions do not build state)
IGNORED_CALLS = re.compile(r"^(WARN\w*|BUILD_BUG_ON\w*|MMU_WARN_ON|KVM_BUG\w*|BUG_ON|lockdep_\w+|"
                           r"kvm_lockdep_\w+|might_sleep|trace_\w+|pr_\w+|printk\w*)$")
TRANSPARENT_CALLS = frozenset({"likely", "unlikely", "READ_ONCE", "ACCESS_ONCE", "data_race"})


class Calls(Part):
    def __call__(self, frame: Frame, node: Syn, depth: int, used: bool) -> object:
        ix = self.ix
        fnode = node.field("function")
        argn = node.field("arguments")
        arg_nodes = argn.named_children if argn is not None else []
        name = fnode.text if fnode is not None and fnode.type == "identifier" else ""
        if not name:
            return V(("h", fnode.flat + "()"))  # an indirect call: not followed
        if IGNORED_CALLS.match(name):
            return V(("h", f"{name}()"))
        args = [ix.expr(frame, a, depth) for a in arg_nodes]
        if name in TRANSPARENT_CALLS and len(args) == 1:
            return args[0]
        target = ix.sources.lookup(name)
        on_chain = name in ix.chain and name not in ix.stack
        gets_ctx = any(isinstance(a, P) and a.kind == "ctx" for a in args)
        if target is not None and name not in ix.stack and depth < MAX_DEPTH \
                and (used or gets_ctx or on_chain):
            pf, fd = target
            here = frame.step(node, "call")
            calls = (*frame.calls, here) if frame.region or gets_ctx else frame.calls
            first = ix.frames + 1  # the callee's frame, and those it makes
            got = ix.invoke(pf, fd, args, frame.guard(), frame.region, calls, depth + 1, frame.deps())
            return self._resite(frame, node, name, got, first, args)
        reads = frozenset().union(*(reads_of(a) for a in args)) if args else frozenset()
        summary = ix.sources.summary(name) if any(isinstance(a, P) and a.kind == "vcpu" for a in args) else None
        if summary is not None and summary.reads and used:
            shown = ",".join(render(sym_of(a)) for a in args if not (isinstance(a, P) and a.kind == "vcpu"))
            atom = ("a", f"call:{name}({shown})", None)
            read = Read(atom, frame.step(node, "read"), name, (), frame.guard(),
                        frozenset(summary.reads) - MMU_MEMBERS, frame.ident)
            return V(atom, reads | {read})
        return V(op(f"call:{name}", *(sym_of(a) for a in args)), reads)

    def _resite(self, frame: Frame, node: Syn, name: str, got: object, first: int,
                args: list) -> object:
        """Reads made inside a call, seen from the caller: read at the call,
        through that accessor."""
        only_pointers = all(isinstance(a, P) for a in args)
        here = frame.step(node, "read")

        def move(r: Read) -> Read:
            if r.frame < first:
                return r
            return Read(r.atom, here, name, (r.step, *r.inner), r.guard, r.members, frame.ident,
                        ((name, only_pointers), *r.via))

        if isinstance(got, V):
            return V(got.sym, frozenset(move(r) for r in got.reads), got.fn)
        if isinstance(got, S):
            return S({k: V(v.sym, frozenset(move(r) for r in v.reads)) for k, v in got.fields.items()},
                     got.rtype, got.free)
        return got
