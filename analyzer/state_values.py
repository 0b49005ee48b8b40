"""The values of the interpreter of skipped reconfigurations
(``analyzer.state_reads``), and the records it answers with.

A scalar is a ``V``: a sym (``analyzer.statesym``) and the ``Read``s of
vCPU state it depends on. A struct or a role is an ``S``, one ``V`` per
member or leaf field; a pointer is a ``P``: to the vCPU, to the compared
MMU context (``ctx``, at a member), to another MMU, or to a struct value.
The functions here combine them: under a condition, through a mask, a word
or a leaf at a time.
"""

from __future__ import annotations

from analyzer.record import field, record
from analyzer.statesym import UNKNOWN, const, ite, op
from analyzer.terms import Step

# ---- the records this module answers with ---------------------------------


@record(frozen=True)
class Read:
    """A read of vCPU state: ``atom`` (a statesym atom), where the code on
    the skipped path reads it (``step``: the outermost accessor call, or the
    member), the accessor it goes through (``""`` for a member), the steps
    inside the accessors, outermost first, the path condition it is read
    under, and the ``vcpu->arch`` members behind it."""

    atom: tuple
    step: Step
    accessor: str
    inner: tuple
    guard: tuple
    members: frozenset
    frame: int = field(compare=False, hash=False)
    # the accessors from ``step`` inwards: (name, takes only pointers), outermost first
    via: tuple = ()


@record
class Sink:
    """A store into the context on the skipped path."""

    path: str  # the member written, e.g. ``guest_rsvd_check.rsvd_bits_mask[][]``
    step: Step
    reads: frozenset  # of Read
    fnptr: bool  # a function pointer: it builds no state
    calls: tuple  # call Steps from the comparing function down to the store
    data: frozenset = frozenset()  # the reads its value is computed from (not only control)


@record
class Skipped:
    """One comparing function, interpreted along one chain of callers."""

    func: str
    chain: tuple  # function names, the top caller first, ``func`` last
    compare: Step  # the role comparison that skips the code
    early_return: bool  # ``if (==) return;`` (else ``if (!=) { ... }``)
    fields: dict  # compared role leaf path -> sym
    sinks: list = field(default_factory=list)
    functions: set = field(default_factory=set)  # every function interpreted
    reads_calls: dict = field(default_factory=dict)  # Read -> call Steps down to it


# ---- values ------------------------------------------------------------------


@record(unsafe_hash=True)
class V:
    """A scalar: a sym and the reads it depends on. Never changed once made
    (equal and hashed by its fields, as a frozen one), but not declared
    frozen: a frozen record's ``__init__`` is three times slower, and a
    tree's sites make some 13,000 of these."""

    sym: tuple
    reads: frozenset = frozenset()
    fn: str = ""  # the function this value names, when it is a function pointer


@record
class S:
    """A struct or role value: member or leaf path -> V."""

    fields: dict
    rtype: str | None = None  # role type name, for roles
    free: str = ""  # a struct nobody built here: a member read is a free value

    def get(self, key: str) -> V:
        got = self.fields.get(key)
        if got is not None:
            return got
        if self.free:
            return V(("h", f"{self.free}.{key}"))
        return V(UNKNOWN)

    def copy(self) -> S:
        return S(dict(self.fields), self.rtype, self.free)


@record(frozen=True)
class P:
    """A pointer: to the vCPU, to the compared context (``ctx``, at member
    ``path``), to another MMU, or to a struct value (``target``)."""

    kind: str  # vcpu | ctx | mmu | struct
    path: str = ""
    target: object = None


def val(sym: tuple, *parts) -> V:
    reads: frozenset = frozenset()
    for p in parts:
        if isinstance(p, V):
            reads = reads | p.reads
        elif p:
            reads = reads | p
    return V(sym, reads)


def sym_of(x) -> tuple:
    if isinstance(x, V):
        return x.sym
    if isinstance(x, S):
        return ("op", "struct", *(v.sym for v in x.fields.values()))
    if isinstance(x, P):
        return ("h", f"&{x.kind}:{x.path}")
    return UNKNOWN


def reads_of(x) -> frozenset:
    if isinstance(x, V):
        return x.reads
    if isinstance(x, S):
        out: frozenset = frozenset()
        for v in x.fields.values():
            out |= v.reads
        return out
    return frozenset()


def render(s: tuple) -> str:
    """A sym as short text, to tell apart calls with different arguments."""
    if s[0] in ("c", "n", "h", "r"):
        return str(s[1])
    if s[0] == "a":
        return f"{s[1]}&{s[2]}" if s[2] else s[1]
    if s[0] == "op":
        return f"{s[1]}({','.join(render(x) for x in s[2:])})"
    return "?"


def truth(s: tuple) -> tuple:
    """A sym used as a condition."""
    if s[0] == "op" and s[1] in ("!", "!!", "&&", "||", "==", "!=", "<", "<=", ">", ">="):
        return s
    if s[0] == "c":
        return const(bool(s[1]))
    return ("op", "!!", s)


def flag_of(value: tuple, flag: tuple) -> tuple | None:
    """``reg & FLAG`` on an atom: the atom of that flag."""
    if value[0] == "a" and not value[1].startswith("call:") and flag[0] in ("n", "c"):
        return ("a", value[1], str(flag[1]))
    if value[0] == "a" and flag[0] == "op" and flag[1] == "~":
        return value
    return None


def remask(r: Read, old: tuple, new: tuple, here: Step, guard: tuple, frame: int) -> Read:
    """A flag taken out of a register read earlier: read ``here``, where the
    flag is tested, under the condition that holds there."""
    if r.atom == old:
        return Read(new, here, "", (r.step, *r.inner), guard, r.members, frame)
    return r


def join_path(base: str, path: list[str]) -> str:
    return ".".join(p for p in (base, *path) if p)


def norm_path(path: str) -> str:
    return path.replace(".[]", "[]")


def with_reads(value: object, deps: frozenset) -> object:
    if not deps:
        return value
    if isinstance(value, V):
        return V(value.sym, value.reads | deps, value.fn)
    if isinstance(value, S):
        return S({k: V(v.sym, v.reads | deps) for k, v in value.fields.items()}, value.rtype, value.free)
    return value


def ite_value(cond: tuple, a: object, b: object) -> object:
    if cond[0] == "c":
        return a if cond[1] else b
    if isinstance(a, S) and isinstance(b, S):
        keys = list(dict.fromkeys([*b.fields, *a.fields]))
        return S({k: val(ite(cond, a.get(k).sym, b.get(k).sym), a.get(k), b.get(k)) for k in keys},
                 a.rtype or b.rtype, a.free or b.free)
    if isinstance(a, P):
        return a
    if isinstance(b, P):
        return b
    if isinstance(a, S) or isinstance(b, S):
        return a
    return val(ite(cond, sym_of(a), sym_of(b)), reads_of(a), reads_of(b))


def word_leaf(value: object, leaf: str) -> V:
    """The value a whole-word assignment gives one leaf."""
    if isinstance(value, S):
        got = value.fields.get(leaf)
        if got is None:
            for k, v in value.fields.items():
                if k.endswith("." + leaf) or leaf.endswith("." + k):
                    return v
            return V(UNKNOWN)
        return got
    if isinstance(value, V):
        s = value.sym
        if s[0] == "op" and s[1] == "word":
            return V(UNKNOWN, value.reads)
        if s[0] == "c":
            return V(const(0) if s[1] == 0 else UNKNOWN)
        if s[0] == "r":
            return V(("r", f"{s[1]}.{leaf}"))
        return V(("h", f"{s[1] if len(s) > 1 else '?'}.{leaf}"), value.reads)
    return V(UNKNOWN)


def masked_leaf(old: V, mask: V) -> V:
    """A leaf and-ed with a mask's leaf: kept where the mask sets it."""
    m = mask.sym
    if m[0] == "c":
        return V(const(0)) if m[1] == 0 else old
    return val(op("&", old.sym, m), old, mask)
