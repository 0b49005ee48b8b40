"""Symbolic values of vCPU state, and whether a role determines one.

A value is a tuple (a "sym"):

- ``("c", n)``: an integer constant;
- ``("n", NAME)``: a named constant (a macro such as ``PT64_ROOT_4LEVEL``)
  whose value is not known; two names are two different values;
- ``("a", storage, mask)``: vCPU state, an *atom*: ``storage`` is the member
  of ``vcpu->arch`` it lives in (``arch.efer``), ``mask`` the flag it is
  tested with (``EFER_LMA``) or ``None`` for the whole member;
- ``("h", text)``: a value that is not vCPU state (a module parameter, a
  host capability, an indirect call, a cached member of the context);
- ``("r", text)``: a field of a stored role (the context's own record);
- ``("u",)``: unknown;
- ``("op", OP, *args)``: an operation; ``OP`` is a C operator, ``?:``,
  or ``call:NAME`` for a call the analysis does not follow.

``determines`` is the test of the role-incomplete rule: does the compared
role change whenever an atom does, wherever the atom is read?
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

TRUE = ("c", 1)
FALSE = ("c", 0)
UNKNOWN = ("u",)

# operators evaluated as C does (on Python ints); anything else is a term
_BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << b if 0 <= b < 64 else 0, ">>": lambda a, b: a >> b if 0 <= b < 64 else 0,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
}
_UNARY = {"!": lambda a: int(not a), "!!": lambda a: int(bool(a)), "~": lambda a: ~a, "neg": lambda a: -a}
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
MAX_ASSIGNMENTS = 1 << 14  # beyond this many variable assignments, do not enumerate


def const(n: int) -> tuple:
    return ("c", int(n))


def is_const(s: tuple) -> bool:
    return s[0] == "c"


def op(name: str, *args: tuple) -> tuple:
    """An operation, folded when its operands are constants."""
    if name == "!" and args[0][0] == "c":
        return const(not args[0][1])
    if name == "!" and args[0][0] == "op" and args[0][1] == "!" and args[0][2][0] == "op" \
            and args[0][2][1] == "!":
        return args[0][2]  # !!!x is !x
    if name in _BINARY and len(args) == 2 and args[0][0] == "c" and args[1][0] == "c":
        return const(_BINARY[name](args[0][1], args[1][1]))
    return ("op", name, *args)


def and_(*parts: tuple) -> tuple:
    out: list[tuple] = []
    for p in parts:
        if p == TRUE:
            continue
        if p == FALSE:
            return FALSE
        if p[0] == "op" and p[1] == "&&":
            out.extend(x for x in p[2:] if x not in out)
        elif p not in out:
            out.append(p)
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else ("op", "&&", *out)


def or_(a: tuple, b: tuple) -> tuple:
    if a == TRUE or b == TRUE:
        return TRUE
    if a == FALSE:
        return b
    if b == FALSE:
        return a
    return a if a == b else ("op", "||", a, b)


def not_(a: tuple) -> tuple:
    if a[0] == "c":
        return const(not a[1])
    if a[0] == "op" and a[1] == "!":
        return ("op", "!!", a[2]) if not _is_bool(a[2]) else a[2]
    return ("op", "!", a)


def _is_bool(s: tuple) -> bool:
    return s[0] == "op" and s[1] in ("!", "!!", "&&", "||", *_COMPARE)


def ite(c: tuple, a: tuple, b: tuple) -> tuple:
    if a == b:
        return a
    if c[0] == "c":
        return a if c[1] else b
    return ("op", "?:", c, a, b)


def atoms(s: tuple, out: set | None = None) -> set:
    """The atoms (``("a", storage, mask)``) a sym reads."""
    out = set() if out is None else out
    stack = [s]
    while stack:
        x = stack.pop()
        if x[0] == "a":
            out.add(x)
        elif x[0] == "op":
            stack.extend(x[2:])
    return out


def _free(s: tuple, out: dict) -> None:
    """Variables of a sym: atoms and values that are not constants, each
    with the constants it is compared with (its interesting values)."""
    stack = [s]
    while stack:
        x = stack.pop()
        if x[0] in ("a", "h", "r", "u"):
            out.setdefault(x, set())
        elif x[0] == "op":
            if x[1] in _COMPARE and len(x) == 4:
                a, b = x[2], x[3]
                if b[0] == "c" and a[0] in ("a", "h", "r", "u"):
                    out.setdefault(a, set()).add(b[1])
                if a[0] == "c" and b[0] in ("a", "h", "r", "u"):
                    out.setdefault(b, set()).add(a[1])
            if x[1].startswith("call:"):
                # an uninterpreted function: its arguments are what varies
                stack.extend(x[2:])
                continue
            stack.extend(x[2:])


def domain(var: tuple, compared: set[int]) -> list[int]:
    """The values worth trying for a variable: a flag is 0 or 1, anything
    else also each constant it is compared with, and its neighbours."""
    if var[0] == "a" and var[2] is not None:
        return [0, 1]
    values = {0, 1}
    for c in compared:
        values.update((c - 1, c, c + 1))
    return sorted(values)


class Names:
    """Values for named constants: known ones from ``#define``s, the others
    a distinct large number each, so two names never compare equal. A value
    once given stays, so what was found with these values holds for as long
    as they are used: ``satisfied`` keeps the answers of ``satisfiable``."""

    def __init__(self, known: dict[str, int] | None = None) -> None:
        self.known = dict(known or {})
        self._made: dict[str, int] = {}
        self.satisfied: dict[tuple, bool] = {}  # (condition, invariants) -> satisfiable

    def value(self, name: str) -> int:
        if name in self.known:
            return self.known[name]
        got = self._made.get(name)
        if got is None:
            got = self._made[name] = 1_000_003 + 7919 * len(self._made)
        return got


def evaluate(s: tuple, env: dict, names: Names):
    """The value of a sym under an assignment of its variables: an int, or
    a hashable term for what cannot be computed (uninterpreted calls)."""
    return compiled(s, names)(env)


def compiled(s: tuple, names: Names) -> Callable[[dict], object]:
    """``evaluate`` of ``s`` as a function of the assignment, made once for
    the many assignments ``determines`` tries. It asks ``names`` for the
    same names in the same order as evaluating would."""
    kind = s[0]
    if kind == "c":
        n = s[1]
        return lambda env: n
    if kind == "n":
        named = s[1]
        return lambda env: names.value(named)
    if kind in ("a", "h", "r", "u"):
        free = ("free", s)
        return lambda env: env.get(s, free)
    name = s[1]
    parts = [compiled(a, names) for a in s[2:]]
    if name == "?:":
        c, a, b = parts[0], parts[1], parts[2]

        def choice(env: dict) -> object:
            v = c(env)
            if isinstance(v, int):
                return a(env) if v else b(env)
            return ("?:", v, a(env), b(env))
        return choice
    if name == "&&":
        def conj(env: dict) -> object:
            for part in parts:
                v = part(env)
                if v == 0:
                    return 0
                if not isinstance(v, int):
                    return ("&&", tuple(p(env) for p in parts))
            return 1
        return conj
    if name == "||":
        def disj(env: dict) -> object:
            for part in parts:
                v = part(env)
                if isinstance(v, int) and v:
                    return 1
                if not isinstance(v, int):
                    return ("||", tuple(p(env) for p in parts))
            return 0
        return disj
    if len(parts) == 1:
        fold1, x = _UNARY.get(name), parts[0]

        def unary(env: dict) -> object:
            v = x(env)
            if fold1 is not None and isinstance(v, int):
                return fold1(v)
            return (name, (v,))
        return unary
    if name in _BINARY and len(parts) == 2:
        fold, x, y = _BINARY[name], parts[0], parts[1]

        def binary(env: dict) -> object:
            a, b = x(env), y(env)
            if isinstance(a, int) and isinstance(b, int):
                return fold(a, b)
            if name == "&" and (a == 0 or b == 0):
                return 0
            return (name, (a, b))
        return binary

    def other(env: dict) -> object:
        args = [p(env) for p in parts]
        if all(isinstance(a, int) for a in args) and name in ("/", "%") and len(args) == 2 and args[1]:
            return args[0] // args[1] if name == "/" else args[0] % args[1]
        return (name, tuple(args))  # ("&" with two operands is ``binary``'s)
    return other


def truthy(v) -> bool | None:
    if isinstance(v, int):
        return v != 0
    return None


class Invariant:
    """``flag`` set implies each of ``then`` set: a state where it does not
    hold cannot exist (EFER.LMA without CR0.PG)."""

    def __init__(self, flag: str, then: Iterable[str]) -> None:
        self.flag = flag
        self.then = tuple(then)

    def holds(self, env: dict) -> bool:
        if not any(v and var[0] == "a" and var[2] and var[2] == self.flag for var, v in env.items()):
            return True
        return not any(not v and var[0] == "a" and var[2] and var[2] in self.then
                       for var, v in env.items())


def _holding(invariants: Iterable[Invariant], variables: Iterable[tuple]) -> Callable[[dict], bool] | None:
    """Whether every invariant holds (``Invariant.holds``), for assignments
    of exactly ``variables``: looking only at the variables of each
    invariant's flags; None when none of them can fail."""
    variables = [v for v in variables if v[0] == "a" and v[2]]
    tests = []
    for inv in invariants:
        flags = [v for v in variables if v[2] == inv.flag]
        then = [v for v in variables if v[2] in inv.then]
        if flags and then:
            tests.append((flags, then))
    if not tests:
        return None

    def holding(env: dict) -> bool:
        return all(not (any(env[v] for v in flags) and any(not env[v] for v in then)) for flags, then in tests)
    return holding


def _assignments(free: dict) -> Iterator[dict] | None:
    """Every assignment of the variables (each with the constants it is
    compared with), or None when there are too many to try."""
    variables = sorted(free, key=repr)
    domains = [domain(v, free[v]) for v in variables]
    total = 1
    for d in domains:
        total *= len(d)
    if total > MAX_ASSIGNMENTS:
        return None
    return (dict(zip(variables, values, strict=True)) for values in itertools.product(*domains))


def satisfiable(where: tuple, names: Names, invariants: Iterable[Invariant] = ()) -> bool:
    """Can the condition hold in some state? (True when there are too many
    variables to try.)"""
    if where == TRUE:
        return True
    invariants = tuple(invariants)
    key = (where, invariants)
    got = names.satisfied.get(key)
    if got is None:
        got = names.satisfied[key] = _satisfiable(where, names, invariants)
    return got


def _satisfiable(where: tuple, names: Names, invariants: tuple[Invariant, ...]) -> bool:
    free: dict = {}
    _free(where, free)
    envs = _assignments(free)
    if envs is None:
        return True
    value = compiled(where, names)
    holding = _holding(invariants, free)
    return any((holding is None or holding(env)) and truthy(value(env)) is not False for env in envs)


def determines(fields: list[tuple], atom: tuple, where: tuple, names: Names,
               invariants: Iterable[Invariant] = ()) -> bool:
    """Whether the role, whose compared fields are ``fields``, changes
    whenever ``atom`` does, in every state where ``where`` holds (the read's
    path condition) and the invariants hold. A whole member in the role
    (``arch.efer``, no mask) records each of its flags."""
    if any(f == ("a", atom[1], None) for f in fields):
        return True
    if not satisfiable(where, names, invariants):
        return True  # the read is never made
    dep = [f for f in fields if atom in atoms(f)]
    if not dep:
        return False
    free: dict = {}
    for f in (*dep, where):
        _free(f, free)
    compared = free.pop(atom, set())
    envs = _assignments(free)
    if envs is None:
        # too many to try: only the plain forms count
        return any(f in (atom, ("op", "!!", atom), op("!", op("!", atom))) for f in dep)
    mine = domain(atom, compared)
    holding = _holding(invariants, [*free, atom])
    # a condition that does not read the atom has one value per assignment
    where_reads_atom = atom in atoms(where)
    reach, values = compiled(where, names), [compiled(f, names) for f in dep]
    for env in envs:
        states = []
        reached_env: tuple = ()
        for a in mine:
            e = {**env, atom: a}
            if holding is not None and not holding(e):
                continue
            if where_reads_atom or not reached_env:
                reached_env = (truthy(reach(e)),)
            states.append((reached_env[0], tuple(value(e) for value in values)))
        for (ra, va), (rb, vb) in itertools.combinations(states, 2):
            if ra is False and rb is False:
                continue  # the read is not reached in either state
            if va == vb:
                return False
    return True
