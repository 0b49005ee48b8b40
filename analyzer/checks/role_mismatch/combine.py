"""One role-mismatch finding per cause, over every compare site."""

from __future__ import annotations

from analyzer.checks.messages import SEVERITY_OF, Misses, decode_misses, encode_misses, misses_class
from analyzer.findings import SEVERITY_RANK, Finding, TraceStep
from analyzer.record import replace


def combine(findings: list[Finding]) -> list[Finding]:
    """One finding per cause: the findings of every compare site with one
    fingerprint become one, naming every lookup that misses, as severe as
    the most severe of them, with all their traces."""
    groups: dict[str, list[Finding]] = {}
    order: list[str] = []
    for f in findings:
        key = f.fingerprint if f.detail else f"\0{id(f)}"
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append(f)
    out = []
    for key in order:
        group = groups[key]
        if len(group) == 1:
            out.append(group[0])
            continue
        out.append(_merge(group))
    return out


def _merge(group: list[Finding]) -> Finding:
    group = sorted(group, key=lambda f: -SEVERITY_RANK[f.severity])
    first = group[0]
    msgs = [m for f in group if (m := decode_misses(f.detail)) is not None]
    misses: list = []
    for m in msgs:
        for item in m.misses:
            if item not in misses:
                misses.append(item)
    # per lookup: never, or the states its configurations miss in
    by_fn: dict[str, list] = {}
    for fn, text in misses:
        by_fn.setdefault(fn, [])
        if text not in by_fn[fn]:
            by_fn[fn].append(text)
    misses = [(fn, None if None in texts else " or ".join(sorted(t for t in texts if t)[:2]))
              for fn, texts in by_fn.items()]
    stores = tuple(sorted({s for m in msgs for s in m.stores}))
    severity = max((SEVERITY_OF[type(m)] for m in msgs), key=lambda s: SEVERITY_RANK[s])
    msg = replace(misses_class(severity == "error")(*_args(msgs[0])),
                  misses=tuple(sorted(misses, key=lambda m: (m[1] is not None, m))), stores=stores)
    trace: list[TraceStep] = []
    keys: set = set()
    for f in group:
        for t in f.trace:
            k = (t.file, t.line, t.kind, t.side, t.text)
            if k not in keys:
                keys.add(k)
                trace.append(t)
    related = list(dict.fromkeys((*first.related, *(s for f in group[1:] for s in f.related))))
    graph = [n for f in group for n in f.graph_path]
    return replace(first, severity=msg.severity, message=str(msg), trace=trace, related=related,
                   graph_path=graph, detail=encode_misses(msg))


def _args(m: Misses) -> tuple:
    return (m.field, m.value, m.side, m.forced, m.guard, m.other, m.other_side, m.misses, m.stores)
