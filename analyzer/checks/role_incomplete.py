"""role-incomplete: a reconfiguration skipped on an equal role, though it
reads vCPU state the role does not record.

Documentation for users: rules/role-incomplete.md (shown by ``explain``).

The sites are the comparisons of a computed role with the role cached in
the MMU context (``context->mmu_role``, ``cpu_role``, ``root_role``), one
per comparing function. At each, ``analyzer.state_reads`` interprets the
function along the chains of callers that supply its roles and registers,
and follows what runs only when the comparison fails into the callees that
get the context. Each read of vCPU state whose value reaches a store into
the context (not a function pointer, not the role itself) must be:

- determined by the compared role: the role changes whenever the state
  does, wherever it is read (``analyzer.statesym.determines``), or
- invalidated: every statement that writes it (found as text in the MMU
  and context ``.c`` files, ``analyzer.kvmtext``) is in a function whose
  calls reach an invalidation of a cached role (``ext.valid = 0``,
  ``.word = 0``, ``.invalid = 1``) within a few calls, or that creates the
  MMU (rules/state.toml).

Reads of the stored role itself are not vCPU state, nor are host-wide
values. What is left is reported, one finding per accessor (or member) and
reading function.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from analyzer.checks import Check
from analyzer.checks.messages import Unrecorded
from analyzer.facts import Compare, Facts, normalize_expr
from analyzer.findings import Finding, TraceStep
from analyzer.record import record
from analyzer.resolve import CONTEXT, Resolver
from analyzer.ruledata import rule_file
from analyzer.state_sources import StateView, fnptr_members
from analyzer.state_values import Read, Sink, Skipped
from analyzer.statesym import Invariant, Names, determines

SIDE = "reconfiguration"
WRITER_SIDE = "writer"
CONTEXT_C = ("arch/x86/kvm/cpuid.c", "arch/x86/kvm/x86.c")


@record(frozen=True)
class StateRules:
    invariants: tuple
    fresh: frozenset
    depth: int


@lru_cache(maxsize=1)
def state_rules() -> StateRules:
    data = tomllib.loads(rule_file("state.toml").read_text())
    return StateRules(tuple(Invariant(i["flag"], i["then"]) for i in data.get("implies", [])),
                      frozenset(data.get("context", {}).get("fresh", [])),
                      int(data.get("context", {}).get("depth", 3)))


# ---- sites -------------------------------------------------------------------

_CONTEXT_ROLE = re.compile(r"^(\w+)->(\w+_role)\b")


def context_var(cmp: Compare) -> str | None:
    """The pointer to the MMU context whose cached role ``cmp`` reads."""
    for text in (cmp.left_text, cmp.right_text):
        m = _CONTEXT_ROLE.match(normalize_expr(text))
        if m is not None:
            return m.group(1)
    return None


def incomplete_sites(facts: Facts) -> list[Compare]:
    """One comparison with the context's cached role per function."""
    out: list[Compare] = []
    seen: set[str] = set()
    for cmp in facts.compares:
        if cmp.func not in seen and context_var(cmp) is not None:
            seen.add(cmp.func)
            out.append(cmp)
    return out


# ---- chains of callers ---------------------------------------------------------


def caller_chains(facts: Facts, resolver: Resolver, func: str) -> list[tuple[str, ...]]:
    """Chains of callers (the outermost first) up to a function that needs
    nothing from its own callers but the vCPU, at most a few calls up."""
    from analyzer.state_reads import MAX_CHAIN

    out: list[tuple[str, ...]] = []

    def needs_callers(name: str) -> bool:
        info = facts.functions.get(name)
        if info is None:
            return False
        return any(not _is_vcpu_or_context(facts, name, p.name) for p in info.params)

    def up(chain: tuple[str, ...]) -> None:
        top = chain[0]
        resolver.note(("callers", top), ("fn", top))
        sites = [s for s in resolver.callers.get(top, []) if s.caller not in chain]
        if len(chain) > MAX_CHAIN or not needs_callers(top) or not sites:
            out.append(chain)
            return
        for caller in dict.fromkeys(s.caller for s in sites):
            up((caller, *chain))

    up((func,))
    return out


def _is_vcpu_or_context(facts: Facts, func: str, param: str) -> bool:
    info = facts.functions[func]
    state = facts.state
    if not isinstance(state, StateView):
        return True
    got = state.sources.lookup(func)
    if got is None:
        return True
    _pf, fd = got
    for ptype, pname in fd.params:
        if pname == param:
            return ("kvm_vcpu" in ptype or "kvm_mmu" in ptype) and "*" in ptype and "role" not in ptype
    return info is None


# ---- the check --------------------------------------------------------------------


def check_incomplete(cmp: Compare, facts: Facts, resolver: Resolver) -> list[Finding]:
    resolver.note(CONTEXT)  # where vCPU state is written: the context files too
    state = facts.state
    ctx = context_var(cmp)
    if not isinstance(state, StateView) or ctx is None:
        return []
    results = []
    for chain in caller_chains(facts, resolver, cmp.func):
        key = (chain, cmp.step.line, cmp.step.col)
        if key not in state.memo:
            # the interpreter, imported only when a site is interpreted: a
            # check after a patch that leaves these sites alone never is
            from analyzer.state_reads import skipped

            fnptrs = state.memo.setdefault("fnptrs", fnptr_members(state.sources))
            state.memo[key] = skipped(state.sources, facts.model, chain, cmp.step, ctx, fnptrs)
        got = state.memo[key]
        if got is not None:
            results.append(got)
            resolver.note(*(("fn", f) for f in got.functions if f in facts.functions))
    rules = state_rules()
    names = Names(state.sources.numbers)
    # per state (atom): its reads left unrecorded, the stores they feed, the chain
    groups: dict[tuple, tuple[list[Read], list[Sink], Skipped]] = {}
    for res in results:
        fields = tuple(res.fields.values())
        verdicts: dict[tuple, bool] = {}
        for sink in res.sinks:
            if sink.fnptr:
                continue
            for read in sorted(sink.reads, key=_where):
                if read.atom[0] != "a":
                    continue
                key = (read.atom, read.guard)
                if key not in verdicts:
                    verdicts[key] = determines(list(fields), read.atom, read.guard, names,
                                               rules.invariants)
                if verdicts[key]:
                    continue
                reads, sinks, _res = groups.setdefault(read.atom, ([], [], res))
                if read not in reads:
                    reads.append(read)
                if sink not in sinks:
                    sinks.append(sink)
    out = []
    for reads, sinks, res in groups.values():
        reads.sort(key=_where)
        read = _named_read(reads, res.func)
        verdict = writer_verdict(state, read, resolver, facts)
        if verdict is None:
            continue  # every writer invalidates the cached role
        out.append(_finding(field_name(read), read, reads, sinks, res, verdict))
    return out


def _where(r: Read) -> tuple:
    return (r.step.file, r.step.line, r.step.col)


def _named_read(reads: list[Read], func: str) -> Read:
    """The read that names the state: the most direct one (``is_long_mode``
    rather than ``is_la57_mode``), in the comparing function if it has one,
    else the first."""
    return min(reads, key=lambda r: (len(r.inner), r.step.function != func, _where(r)))


def field_name(read: Read) -> str:
    """What names the state: the innermost accessor it is read through that
    takes only pointers (``is_long_mode(vcpu)``, ``____is_cr4_la57(regs)``),
    else the flag it is tested with, else the outermost accessor, else the
    member."""
    for name, only_pointers in reversed(read.via):
        if only_pointers:
            return name
    storage, mask = read.atom[1], read.atom[2]
    if mask and not storage.startswith("call:") and not mask.isdigit():
        return mask
    if read.accessor:
        return read.accessor
    return storage.split(".", 1)[-1]


def describe(read: Read) -> str:
    storage, mask = read.atom[1], read.atom[2]
    if storage.startswith("call:"):
        return " and ".join(f"vcpu->arch.{m}" for m in sorted(read.members)) or f"{_called(read)}()"
    return f"vcpu->{storage} & {mask}" if mask else f"vcpu->{storage}"


def _called(read: Read) -> str:
    """The function of a context .c file a read goes through, or ""."""
    storage = read.atom[1]
    return storage[5:].split("(", 1)[0] if storage.startswith("call:") else ""


@record
class Verdict:
    """Why the read is not covered by an invalidation: the writer that does
    not invalidate (with its file), or none found."""

    writer: tuple | None  # (TextFunction, Write)
    missing: list[str]  # context .c files the tree does not have


def writer_verdict(state: StateView, read: Read, resolver: Resolver, facts: Facts) -> Verdict | None:
    rules = state_rules()
    missing = [p for p in CONTEXT_C if p not in state.context]
    members = sorted(read.members)
    found_any = False
    for member in members:
        for fn, write in state.writers(member):
            found_any = True
            if not _invalidates(state, fn.name, rules.depth, resolver, facts):
                return Verdict((fn, write), missing)
    if found_any:
        return None
    return Verdict(None, missing)


def _invalidates(state: StateView, name: str, depth: int, resolver: Resolver, facts: Facts) -> bool:
    """Does a function, or one it calls within ``depth`` calls, invalidate
    a cached role, or create the MMU? (What it read is noted on the
    resolver: an edit to any of those functions is a reason to ask again.)"""
    result, touched = _invalidation(state, name, depth, facts, frozenset())
    resolver.note(*touched)
    return result


def _invalidation(state: StateView, name: str, depth: int, facts: Facts,
                  seen: frozenset) -> tuple[bool, frozenset]:
    key = ("inval", name, depth)
    if key in state.memo:
        return state.memo[key]
    touched: set = set()
    result = False
    rules = state_rules()
    for fn in state.text.named(name):
        if fn.name in facts.functions:
            touched.add(("fn", fn.name))
        if fn.invalidates or fn.calls & rules.fresh:
            result = True
            break
        if depth > 0:
            for callee in sorted(fn.calls):
                if callee in seen or callee == name:
                    continue
                got, more = _invalidation(state, callee, depth - 1, facts, seen | {name})
                touched |= more
                if got:
                    result = True
                    break
        if result:
            break
    answer = (result, frozenset(touched))
    if not seen:  # a partial answer (cut by ``seen``) is not kept
        state.memo[key] = answer
    return answer


def _finding(name: str, read: Read, reads: list[Read], sinks: list[Sink], res: Skipped,
             verdict: Verdict) -> Finding:
    # the stores computed from the state first, then those it only decides
    ordered = sorted(sinks, key=lambda s: not any(r.atom == read.atom for r in s.data))
    feeds = list(dict.fromkeys(s.path.replace(".[]", "[]") for s in ordered))
    shown = ", ".join(f"'{p}'" for p in feeds[:3]) + (f" and {len(feeds) - 3} more" if len(feeds) > 3 else "")
    if verdict.writer is not None:
        fn, _write = verdict.writer
        why = f"{fn.name}() writes it without invalidating the cached role"
    elif verdict.missing:
        why = (f"{' and '.join(p.rsplit('/', 1)[-1] for p in verdict.missing)} not read: "
               "this assumes no writer invalidates the cached role")
    else:
        why = "no writer of it in the files read: this assumes none invalidates the cached role"
    where = read.step.function
    how_read = f"read in {where}()" if not read.accessor else f"read by {read.step.text} in {where}()"
    if _called(read) and _called(read) != read.accessor:
        how_read += f", through {_called(read)}()"
    msg = Unrecorded(describe(read), how_read, shown, res.func,
                     "returns early" if res.early_return else "skips the update", why)
    trace = _trace(read, ordered[0], res, verdict)
    cmp = res.compare
    return Finding(msg.rule, msg.severity, name, str(msg), cmp.file, cmp.line, cmp.col, res.func,
                   trace, [cmp, read.step, ordered[0].step])


def _trace(read: Read, sink: Sink, res: Skipped, verdict: Verdict) -> list[TraceStep]:
    """The comparison, the calls down to the read, the read (and inside its
    accessors), the calls on to the store, the store; then the writer."""
    def step(st, kind=None, text=None, side=SIDE) -> TraceStep:
        return TraceStep(st.file, st.line, st.function, kind or st.kind, text or st.text, side, st.col)

    when = "returns early when equal" if res.early_return else "skips the update when equal"
    out = [step(res.compare, "compare", f"{when}: {res.compare.text}")]
    calls = list(dict.fromkeys(sink.calls))
    split = next((k for k, c in enumerate(calls) if c.function == read.step.function), 0)
    out += [step(c) for c in calls[:split]]
    out.append(step(read.step, "read"))
    shown = {(read.step.file, read.step.line)}
    for inner in read.inner:
        if (inner.file, inner.line) not in shown:
            shown.add((inner.file, inner.line))
            out.append(step(inner, "read"))
    out += [step(c) for c in calls[split:]]
    out.append(step(sink.step, "store"))
    if verdict.writer is not None:
        fn, write = verdict.writer
        out.append(TraceStep(fn.file, write.line, fn.name, "writer", write.text, WRITER_SIDE))
        for callee, line in sorted(fn.call_lines.items(), key=lambda kv: kv[1]):
            if callee == "kvm_mmu_reset_context":
                out.append(TraceStep(fn.file, line, fn.name, "call",
                                     f"{callee}(vcpu): recomputes the same role, which returns early",
                                     WRITER_SIDE))
                break
    return out


CHECK = Check(sites=incomplete_sites, find=check_incomplete, beside=True)
