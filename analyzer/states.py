"""Guest states: the conditions a role configuration holds under.

What the analysis cannot compute is an expression of vCPU or host state
(``is_pae(vcpu)``, ``tdp_mmu_enabled``, an unbound parameter). Each such
expression is an *atom*, named by its canonical text: the same text is the
same value wherever it is read, on the lookup side and on the stored side
alike (the cache is meant to hit when the guest is in the state the page was
made for). A *state* gives every atom a value; a *formula* says which states
it holds in:

- ``True`` / ``False``;
- ``("eq", atom, n)``: the atom's value is the integer ``n``;
- ``("not", f)``, ``("and", (f, ...))``, ``("or", (f, ...))``.

``!!x`` and ``x`` are one atom (role fields are bits and these predicates
bools), ``!x`` is its negation. States are enumerated over the values the
formulas at hand compare each atom with, plus 0 and "anything else": a
handful of atoms, so a few hundred states at most (``MAX_STATES``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from functools import lru_cache

from analyzer.facts.syntax import balanced

MAX_STATES = 4096


class _Other:
    """The value of an atom that is none of the integers the formulas name."""

    def __repr__(self) -> str:
        return "other"


OTHER = _Other()

Formula = object  # True | False | tuple


def canon(text: str) -> tuple[str, str]:
    """(atom, mode) of an expression's text: mode "id" (the value itself),
    "bool" (``!!x``: 0 or 1) or "not" (``!x``)."""
    mode = "id"
    while text.startswith("!"):
        if text.startswith("!!"):
            text, mode = _strip(text[2:]), ("bool" if mode == "id" else mode)
        else:
            text, mode = _strip(text[1:]), {"id": "not", "bool": "not", "not": "bool"}[mode]
    return text, mode


def _strip(text: str) -> str:
    while text.startswith("(") and text.endswith(")") and balanced(text[1:-1]):
        text = text[1:-1]
    return text


def is_value(text: str, n: int) -> Formula:
    """The states where the expression ``text`` has the integer value ``n``."""
    atom, mode = canon(text)
    if mode == "id":
        return ("eq", atom, n)
    zero = ("eq", atom, 0)
    if n not in (0, 1):
        return False
    holds_zero = (n == 0) == (mode == "bool")
    return zero if holds_zero else ("not", zero)


def truthy(text: str) -> Formula:
    return neg(is_value(text, 0))


def same(a: str, b: str) -> Formula | None:
    """Two expressions are equal: True for one atom read alike, None when
    it cannot be decided (two different atoms)."""
    (x, mx), (y, my) = canon(a), canon(b)
    if x == y and (mx == my or {mx, my} == {"id", "bool"}):
        return True
    if x == y and "not" in (mx, my) and mx != my:
        return False if "id" not in (mx, my) else None
    return None


def neg(f: Formula) -> Formula:
    if f is True:
        return False
    if f is False:
        return True
    if isinstance(f, tuple) and f[0] == "not":
        return f[1]
    return ("not", f)


def conj(parts: Iterable[Formula]) -> Formula:
    return _fold(parts, "and", True)


def disj(parts: Iterable[Formula]) -> Formula:
    return _fold(parts, "or", False)


def _fold(parts: Iterable[Formula], tag: str, unit: bool) -> Formula:
    """The conjunction (``tag`` "and", ``unit`` True) or disjunction of
    formulas, flattened, without repeats, with constants folded."""
    if type(parts) is tuple and len(parts) == 2:  # the common case: one part the unit
        a, b = parts
        if a is unit or a == b:
            return b
        if b is unit:
            return a
    out: list = []
    for p in parts:
        if p is (not unit):
            return not unit
        if p is unit:
            continue
        if isinstance(p, tuple) and p[0] == tag:
            out.extend(q for q in p[1] if q not in out)
        elif p not in out:
            out.append(p)
    if not out:
        return unit
    return out[0] if len(out) == 1 else (tag, tuple(out))


def relax(f: Formula, keep) -> Formula:
    """``f`` with the atoms ``keep`` rejects made free: each literal on them
    (in negation normal form) becomes True, so the result holds wherever
    ``f`` holds for some value of those atoms, and maybe more."""
    return _relax(f, keep, False)


def _relax(f: Formula, keep, negated: bool) -> Formula:
    if f is True or f is False:
        return (not f) if negated else f
    tag = f[0]  # type: ignore[index]
    if tag == "eq":
        if not keep(f[1]):  # type: ignore[index]
            return True
        return neg(f) if negated else f
    if tag == "not":
        return _relax(f[1], keep, not negated)  # type: ignore[index]
    parts = [_relax(p, keep, negated) for p in f[1]]  # type: ignore[index]
    if (tag == "and") != negated:
        return conj(parts)
    return disj(parts)


def holds(f: Formula, state: dict) -> bool:
    if f is True or f is False:
        return f
    tag = f[0]  # type: ignore[index]
    if tag == "eq":
        return state.get(f[1], OTHER) == f[2]  # type: ignore[index]
    if tag == "not":
        return not holds(f[1], state)  # type: ignore[index]
    if tag == "and":
        return all(holds(p, state) for p in f[1])  # type: ignore[index]
    return any(holds(p, state) for p in f[1])  # type: ignore[index]


@lru_cache(maxsize=1 << 14)
def test_of(f: Formula):
    """``holds(f, state)`` as one function of the state, for loops over
    many states. The formula's atoms and integers are written as literals
    (``repr`` of a str and of an int), nothing else of it."""
    def src(g: Formula) -> str:
        if g is True or g is False:
            return repr(g)
        tag = g[0]  # type: ignore[index]
        if tag == "eq":
            atom, n = g[1], g[2]  # type: ignore[index]
            if type(atom) is not str or type(n) is not int:
                raise TypeError(g)
            return f"g({atom!r}, O) == {n!r}"
        if tag == "not":
            return f"not ({src(g[1])})"  # type: ignore[index]
        if tag not in ("and", "or") or not g[1]:  # type: ignore[index]
            raise TypeError(g)
        return "(" + f" {tag} ".join(f"({src(p)})" for p in g[1]) + ")"  # type: ignore[index]

    try:
        body = src(f)
    except (TypeError, IndexError):
        return lambda state: holds(f, state)
    return eval(f"lambda s, O=O: (lambda g: {body})(s.get)", {"__builtins__": {}, "O": OTHER})


def atoms(f: Formula, out: dict[str, set] | None = None) -> dict[str, set]:
    """atom -> the integers the formula compares it with."""
    out = {} if out is None else out
    stack = [f]
    while stack:
        g = stack.pop()
        if g is True or g is False:
            continue
        tag = g[0]  # type: ignore[index]
        if tag == "eq":
            out.setdefault(g[1], set()).add(g[2])  # type: ignore[index]
        elif tag == "not":
            stack.append(g[1])  # type: ignore[index]
        else:
            stack.extend(g[1])  # type: ignore[index]
    return out


def states(domains: dict[str, set]) -> Iterator[dict] | None:
    """Every state over the atoms (None when there are too many)."""
    names = sorted(domains)
    values = [_values(domains[n]) for n in names]
    total = 1
    for v in values:
        total *= len(v)
        if total > MAX_STATES:
            return None
    return (dict(zip(names, combo, strict=True)) for combo in itertools.product(*values))


def _values(domain: set) -> list:
    """The values one atom takes over the states, in order: the integers
    it is compared with (and 0), then any other."""
    return [*sorted(domain | {0}), OTHER]


def states_where(f: Formula, domains: dict[str, set]) -> list[dict] | None:
    """The states of ``states(domains)`` where ``f`` holds, in the same
    order (None when there are too many): the states of ``f``'s own atoms
    are tested first, so that the rest are enumerated only where it holds."""
    if states(domains) is None:
        return None
    mine = atoms(f)
    own = {a: v for a, v in domains.items() if a in mine}
    rest = {a: v for a, v in domains.items() if a not in mine}
    test = test_of(f)
    heads = [h for h in states(own) or () if test(h)]
    if not heads:
        return []
    tails = list(states(rest) or ())
    names = sorted(domains)
    order = {n: {v: i for i, v in enumerate(_values(domains[n]))} for n in names}
    out = [{n: (h[n] if n in h else t[n]) for n in names} for h in heads for t in tails]
    out.sort(key=lambda st: tuple(order[n][st[n]] for n in names))
    return out


def satisfiable(f: Formula) -> bool | None:
    if f is True or f is False:
        return f
    got = states(atoms(f))
    if got is None:
        return None
    return any(holds(f, s) for s in got)


def implies(a: Formula, b: Formula) -> bool:
    """Whether ``b`` holds in every state ``a`` holds in (False when that
    cannot be enumerated)."""
    if b is True or a is False or a == b:
        return True
    if isinstance(b, tuple) and b[0] == "and":
        return all(implies(a, part) for part in b[1])
    if isinstance(a, tuple) and a[0] == "or":
        return all(implies(part, b) for part in a[1])
    if isinstance(a, tuple) and a[0] == "and" and b in a[1]:
        return True
    return satisfiable(conj((a, neg(b)))) is False


def describe(misses: list[dict], hits: list[dict], prefer: Iterable[str] = ()) -> str:
    """A short condition true in every state of ``misses`` and false in
    some of ``hits``: at most two literals, atoms of ``prefer`` first; ""
    when there is none."""
    if not misses or not hits:
        return ""
    first = set(prefer)
    names = sorted(set().union(*misses), key=lambda a: (a not in first, a))
    lits = []
    for atom in names:
        in_misses = {s.get(atom, OTHER) for s in misses}
        in_hits = {s.get(atom, OTHER) for s in hits}
        if 0 not in in_misses and 0 in in_hits:
            lits.append(f"{atom} != 0")
        elif len(in_misses) == 1:
            (value,) = in_misses
            if value is not OTHER and in_hits - {value}:
                lits.append(f"{atom} == {value}")
        else:
            kept = sorted(v for v in in_hits - in_misses if v is not OTHER)
            if kept:
                lits.append(f"{atom} != {kept[0]}")
    return " and ".join(lits[:2])
