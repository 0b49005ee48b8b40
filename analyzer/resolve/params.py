"""The parameters a value depends on, through the calls and phis it reads."""

from __future__ import annotations

from analyzer.facts import CallSite, Facts
from analyzer.resolve.deps import Deps
from analyzer.terms import Ref, Scalar, parts_of


class Params:
    """Which parameters of a function values, returns and the function's
    own reads depend on; memoized, with what each answer read."""

    def __init__(self, facts: Facts, sites: dict[int, CallSite], deps: Deps) -> None:
        self.facts = facts
        self.sites = sites
        self.deps = deps
        self._fn: dict = {}  # ("returns" | "direct", func) -> parameters
        self._phi: dict = {}
        self._memo: dict = {}
        self._keep: list = []
        self._reads: dict[str, tuple[list, list, list]] | None = None

    def _reads_of(self, func: str) -> tuple[list, list, list]:
        """The compares, whole stores and call sites of ``func``."""
        if self._reads is None:
            self._reads = {}
            for cmp in self.facts.compares:
                self._reads.setdefault(cmp.func, ([], [], []))[0].append(cmp)
            for store in self.facts.stores:
                if store.value is not None:
                    self._reads.setdefault(store.func, ([], [], []))[1].append(store)
            for site in self.facts.calls:
                self._reads.setdefault(site.caller, ([], [], []))[2].append(site)
        return self._reads.get(func, ([], [], []))

    def uses(self, value, func: str) -> bool:
        return bool(self.of(value, func))

    def of(self, value, func: str) -> set[str]:
        """Parameters of ``func`` that a value (or scalar term) depends on,
        including through the calls and phis it reads."""
        key = (id(value), func)
        got = self._memo.get(key)
        if got is None:
            got = set()
            self.deps.drive(self._walk(value, func, got))
            self._memo[key] = got
            self._keep.append(value)  # ids stay valid while memoized
        return got

    def returned(self, func: str) -> set[str]:
        """Parameters of ``func`` its returned roles depend on."""
        return self.deps.ask(self._returns_request(func))

    def direct(self, func: str) -> set[str]:
        """Parameters a function's compares, stores and call arguments read."""
        return self.deps.ask(self._direct_request(func))

    def depth(self, value, func: str, sites: tuple) -> int:
        """How many of the call sites binding ``func``'s parameters a value
        depends on (0 when it reads no parameter)."""
        used = self.of(value, func)
        if not used or not sites:
            return 0
        info = self.facts.functions.get(func)
        site = sites[0]
        deeper = 0
        for p, arg in zip(info.params if info else [], site.args, strict=False):
            if p.name in used:
                deeper = max(deeper, self.depth(arg, site.caller, sites[1:]))
        return 1 + deeper

    def _returns_request(self, func: str) -> tuple:
        return (self._fn, ("returns", func), set(), lambda: self._returns_params(func))

    def _direct_request(self, func: str) -> tuple:
        return (self._fn, ("direct", func), set(), lambda: self._direct_reads(func))

    def _returns_params(self, func: str):
        self.deps.note(("fn", func))
        info = self.facts.functions.get(func)
        out: set[str] = set()
        if info is not None:
            for cond, value, _st in info.returns:
                yield from self._walk((value, cond), func, out)
        return out

    def _phi_params(self, phi, func: str):
        out: set[str] = set()
        for cond, value in phi.alternatives:
            yield from self._walk((value, cond), func, out)
        return out

    def _direct_reads(self, func: str):
        self.deps.note(("fn", func))
        out: set[str] = set()
        compares, stores, calls = self._reads_of(func)
        for cmp in compares:
            yield from self._walk((cmp.left, cmp.right), func, out)
        for store in stores:
            yield from self._walk(store.value, func, out)
        for site in calls:
            callee = self.facts.functions.get(site.callee)
            if callee is None:
                continue
            used = (yield self._returns_request(site.callee)) | (yield self._direct_request(site.callee))
            for p, a in zip(callee.params, site.args, strict=False):
                if p.name in used:
                    yield from self._walk(a, func, out)
        return out

    def _walk(self, root, func: str, out: set):
        """Add to ``out`` the parameters of ``func`` that ``root`` (a value,
        term, condition, or a tuple of them) reads."""
        stack = [root]
        while stack:
            t = stack.pop()
            if isinstance(t, Scalar):
                if t.func == func:
                    out.add(t.name)
            elif isinstance(t, Ref):
                o = t.origin
                if o.func != func:
                    continue
                if o.kind == "param":
                    out.add(o.name)
                elif o.kind == "call":
                    site = self.sites.get(o.site)
                    callee = self.facts.functions.get(o.name)
                    if site is None or callee is None:
                        continue
                    used = yield self._returns_request(o.name)
                    stack.extend(reversed([arg for p, arg in zip(callee.params, site.args, strict=False)
                                           if p.name in used]))
                elif o.kind == "phi":
                    phi = self.facts.phis.get(o.site)
                    if phi is not None:
                        out |= yield (self._phi, (phi.id, func), set(),
                                      lambda phi=phi: self._phi_params(phi, func))
            else:
                stack.extend(reversed(parts_of(t)))
