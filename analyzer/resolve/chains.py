"""Chains of call sites: which callers bind a function's parameters, and
where a chain (or a function) is reached."""

from __future__ import annotations

from analyzer import states
from analyzer.facts import CallSite, Facts
from analyzer.resolve.conditions import Conditions
from analyzer.resolve.configs import MAX_CHAIN, MAX_CHAINS, REACH_DEPTH, Ctx
from analyzer.resolve.deps import Deps
from analyzer.resolve.params import Params


class Chains:
    """Upward chains of call sites and the conditions they run under;
    memoized, with what each answer read."""

    def __init__(self, facts: Facts, callers: dict[str, list[CallSite]], params: Params,
                 conds: Conditions, deps: Deps) -> None:
        self.facts = facts
        self.callers = callers
        self.params = params
        self.conds = conds
        self.deps = deps
        self._chains: dict = {}
        self._reach: dict = {}

    def chains(self, func: str, depth: int = MAX_CHAIN, seen: frozenset = frozenset()) -> list[tuple]:
        """Upward chains of call sites that bind ``func``'s parameters."""
        return self.deps.memo(self._chains, (func, depth, seen), [()],
                              lambda: self._chains_of(func, depth, seen))

    def _chains_of(self, func: str, depth: int, seen: frozenset) -> list[tuple]:
        note = self.deps.note
        note(("callers", func), ("fn", func))
        out: list[tuple] = []
        sites = self.callers.get(func, [])
        if depth == 0 or not sites:
            out.append(())
        for site in sites:
            if site.caller in seen or site.caller == func:
                continue
            note(("fn", site.caller))
            callee = self.facts.functions.get(func)
            used = self.params.returned(func) | self.params.direct(func)
            needs = callee is not None and any(
                p.name in used and self.params.uses(a, site.caller)
                for p, a in zip(callee.params, site.args, strict=False))
            if needs:
                for rest in self.chains(site.caller, depth - 1, seen | {func}):
                    out.append((site, *rest))
                    if len(out) >= MAX_CHAINS:
                        break
            else:
                out.append((site,))
            if len(out) >= MAX_CHAINS:
                if () not in out:
                    out.append(())  # the callers left out: parameters unbound
                break
        if not out:
            out.append(())
        return out

    def chain_cond(self, chain: tuple, func: str) -> object:
        """Where a chain of call sites runs: the path condition of each call
        site in its caller, and where the chain's last caller is reached."""
        def compute():
            parts = []
            for i, site in enumerate(chain):
                self.deps.note(("fn", site.caller))
                parts.append(self.conds.path_cond(site.cond, site.caller, Ctx(chain[i + 1:]), {}))
            parts.append(self.reach(chain[-1].caller if chain else func))
            return states.conj(parts)

        return self.deps.memo(self._reach, ("chain", tuple(s.id for s in chain), func), True, compute)

    def reach(self, func: str, depth: int = REACH_DEPTH, seen: frozenset = frozenset()) -> object:
        """Where ``func`` is called: the disjunction of its call sites' path
        conditions, with where their callers are reached (``depth`` callers
        up; True beyond, or where a caller is reached unconditionally)."""
        def compute():
            self.deps.note(("callers", func))
            sites = self.callers.get(func, [])
            if depth <= 0 or not sites:
                return True
            parts = []
            for site in sites:
                if site.caller == func or site.caller in seen:
                    return True
                self.deps.note(("fn", site.caller))
                here = self.conds.path_cond(site.cond, site.caller, Ctx(), {})
                parts.append(states.conj((here, self.reach(site.caller, depth - 1, seen | {func}))))
                if parts[-1] is True:
                    return True
            return states.disj(parts)

        return self.deps.memo(self._reach, ("reach", func, depth, seen), True, compute)
