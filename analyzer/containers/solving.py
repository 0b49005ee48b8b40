"""Solving the page flow: the labels (containers, globals) that reach each
node, over the edges of every file, parameters linked to their callers'
arguments."""

from __future__ import annotations

from collections import defaultdict

from analyzer.containers.records import FileFlow


class PageFlow:
    """The solved flow of every file: labels reaching each node."""

    def __init__(self, flows: dict[str, FileFlow],
                 returns: dict[tuple[str, str], set[tuple]] | None = None) -> None:
        self.flows = flows
        succ: dict[tuple, set[tuple]] = defaultdict(set)
        pointers: dict[tuple[str, str], list[tuple]] = {}
        for flow in flows.values():
            for a, b in flow.edges:
                succ[a].add(b)
            for key, nodes in flow.pointers.items():
                pointers.setdefault(key, []).extend(nodes)
        self.pointers = pointers
        self.params = {f: names for flow in flows.values() for f, names in flow.params.items()}
        # (caller, callee) -> where the callee's result goes in that caller
        self.returns = returns or {}
        self.head_nodes = {h for flow in flows.values() for h in flow.heads}
        # what flows into each node, without the elements of containers
        self.pred = _predecessors(succ)
        self.heads = _head_fields(self.head_nodes, self.pred)
        # what each pointer flows into, without the elements of containers
        self.succ = {a: set(bs) for a, bs in succ.items()}
        self.put = defaultdict(set)  # page node -> the containers it is put into
        inserts = [i for flow in flows.values() for i in flow.inserts]
        for page, head in inserts:
            succ[head].add(page)  # the page is an element of what the head names
            self.put[page].add(head)
        self._readers: dict[tuple, set[tuple]] = {}
        self._made: dict[tuple, tuple[set[tuple], set[tuple]] | None] = {}
        # a list head stands for itself: what is read from it is an element
        # of that container, whatever was put into it
        labels = _propagate(succ, list(succ), heads=self.heads)
        self._labels = labels

    def labels(self, node: tuple) -> frozenset:
        own = {node} if node in self.heads else set()
        return frozenset(own | self._labels.get(node, set()))

    def made_reaches(self, func: str, via: str, chain: tuple[tuple, ...],
                     targets: set[tuple]) -> bool | None:
        """Whether the page a store in ``func`` writes through ``via`` can be
        the page a load through one of ``targets`` reads, when the page is
        made in the request of ``chain`` ((caller, callee, key) call sites,
        innermost first; key: the call's ``call_key``, None when not
        known): the page followed forward from where it is made,
        back out of each callee only into the call site of the chain while
        the chain goes on, through struct members to their readers, and
        into the containers it is put in, whose elements their iterations
        read. None when the page is not made in ``func`` (a parameter, a
        member) or nothing is known."""
        if not targets:
            return None
        key = (func, via, chain)
        if key not in self._made:  # the sites of a store ask with their own targets
            self._made[key] = self._made_reach(func, via, chain)
        got = self._made[key]
        if got is None:
            return None
        reached, containers = got
        return not reached.isdisjoint(targets) or any(targets & self._elements(c) for c in containers)

    def _made_reach(self, func: str, via: str, chain: tuple[tuple, ...]
                    ) -> tuple[set[tuple], set[tuple]] | None:
        """The nodes the page of ``made_reaches`` reaches, and the
        containers it is put in; None when it is not made in ``func``."""
        starts = self.pointers.get((func, via), [])
        if not starts:
            return None
        made = self._made_in(func, starts, chain)
        if made is None:
            return None
        seen: set = set()
        containers: set = set()
        stack = list(made)
        while stack:
            n, k = stack.pop()
            if (n, k) in seen:
                continue
            seen.add((n, k))
            if n in self.head_nodes or n in self.heads:
                containers |= self.labels(n)  # in a container: its readers below
                continue
            for head in self.put.get(n, ()):
                containers |= self.labels(head)
            nxt = self.succ.get(n, ())
            if n[0] == "ret" and k < len(chain) and chain[k][1] == n[1]:
                nxt = self._returned_into(chain[k], n[1])
                k += 1
            stack.extend((m, k) for m in nxt)
        return {n for n, _k in seen}, containers

    def _made_in(self, func: str, starts: list[tuple], chain: tuple[tuple, ...]
                 ) -> list[tuple[tuple, int]] | None:
        """Where the page a pointer of ``func`` holds is made: the pointer's
        own nodes, or, for a page passed in as a parameter, the locals that
        pass it: those of the caller of the chain's call site while the
        chain goes on, those of every caller past it (and so on out); each
        with how many call sites of the chain that took. None when the page
        comes from anything else (a member, a call's result passed on
        directly, a recursion) or from a caller outside the chain."""
        if any(n[1] != func for n in starts):
            return None
        out: list[tuple[tuple, int]] = []
        seen: set = set()
        pred = self.pred
        todo = [(n, 0) for n in starts]
        while todo:
            n, k = todo.pop()
            if n[0] not in ("var", "def"):
                return None
            if n[0] == "def" or n[2] not in self.params.get(n[1], []):
                out.append((n, k))
                continue
            caller = None
            if k < len(chain):
                if n[1] != chain[k][1]:
                    return None
                caller = chain[k][0]
            if n in seen:
                return None  # a recursion: not followed
            seen.add(n)
            got = [m for m in pred.get(n, ()) if caller is None or m[1] == caller]
            if not got:
                return None
            todo.extend((m, min(k + 1, len(chain))) for m in sorted(got))
        return out

    def _returned_into(self, site: tuple, callee: str) -> list[tuple]:
        """Where a call site's result goes in its caller: of the caller's
        definitions of locals from a result of ``callee``, the one this
        call makes (``site[2]``: its ``call_key``), when it is known."""
        into = list(self.returns.get((site[0], callee), ()))
        key = site[2] if len(site) > 2 else None
        if key is None or not any(m[0] == "def" and m[3] == key for m in into):
            return into
        return [m for m in into if m[0] != "def" or m[3] == key]

    def _elements(self, container: tuple) -> set[tuple]:
        """The nodes that hold an element read out of a container (the
        iterations of its heads), and what those flow into short of a member."""
        got = self._readers.get(container)
        if got is None:
            stack = [m for h in self.head_nodes | self.heads
                     if h == container or container in self.labels(h)
                     for m in self.succ.get(h, ())]
            got = set()
            while stack:
                n = stack.pop()
                if n in got or n[0] in ("field", "global"):
                    continue
                got.add(n)
                stack.extend(self.succ.get(n, ()))
            self._readers[container] = got
        return got

    def of(self, func: str, via: str) -> frozenset:
        """Labels of the pointer a role load or store in ``func`` goes
        through (``sp`` in ``sp->role``): the containers it was read from,
        the allocations it was made by."""
        out: set = set()
        for node in self.pointers.get((func, via), []):
            out |= self.labels(node)
        return frozenset(out)


def _predecessors(succ: dict[tuple, set[tuple]]) -> dict[tuple, set[tuple]]:
    pred: dict[tuple, set[tuple]] = defaultdict(set)
    for a, bs in succ.items():
        for b in bs:
            pred[b].add(a)
    return pred


def _head_fields(nodes: set[tuple], pred: dict[tuple, set[tuple]]) -> set[tuple]:
    """The struct members that are list heads: those named as a head, and
    those a head variable or parameter was set from (``sp_list =
    &kvm->arch.mmu_page_hash[i]``, passed on as an argument)."""
    out = {n for n in nodes if n[0] == "field"}
    seen = set(nodes)
    stack = [n for n in nodes if n[0] in ("var", "def")]
    while stack:
        n = stack.pop()
        for m in pred.get(n, ()):
            if m in seen:
                continue
            seen.add(m)
            if m[0] == "field":
                out.add(m)
            elif m[0] in ("var", "def"):
                stack.append(m)
    return out


def _propagate(succ: dict[tuple, set[tuple]], start: list, labels: dict | None = None,
               heads: set | frozenset = frozenset()) -> dict[tuple, set]:
    """Containers reaching each node (a list head is its own): a worklist
    over the graph, each node's set only growing."""
    labels = labels if labels is not None else defaultdict(set)
    for n in heads:
        labels[n].add(n)
    pending = list(start)
    while pending:
        n = pending.pop()
        got = labels.get(n)
        if not got:
            continue
        for m in succ.get(n, ()):
            if m in heads:
                continue
            before = len(labels[m])
            labels[m] |= got
            if len(labels[m]) != before:
                pending.append(m)
    return labels


def solve(flows: dict[str, FileFlow]) -> PageFlow:
    returns: dict[tuple[str, str], set[tuple]] = defaultdict(set)
    for flow in flows.values():
        for key, part in flow.functions.items():
            caller = key.split(":", 1)[0]
            for a, b in part.edges:
                if a[0] == "ret":
                    returns[(caller, a[1])].add(b)
    return _link_params({path: _merged(flow) for path, flow in flows.items()}, returns)


def _merged(flow: FileFlow) -> FileFlow:
    """A file's flow and its functions' as one, in the file's order."""
    out = FileFlow(list(flow.edges), list(flow.inserts), {k: list(v) for k, v in flow.pointers.items()},
                   dict(flow.params), set(flow.heads))
    for part in flow.functions.values():
        out.edges.extend(part.edges)
        out.inserts.extend(part.inserts)
        for key, nodes in part.pointers.items():
            out.pointers.setdefault(key, []).extend(nodes)
        out.params.update(part.params)
        out.heads |= part.heads
    return out


def _link_params(flows: dict[str, FileFlow], returns: dict[tuple[str, str], set[tuple]]
                 ) -> PageFlow:
    """Turn ("param", callee, index) ends into the callee's parameter vars."""
    params: dict[str, list[str]] = {}
    for flow in flows.values():
        params.update(flow.params)

    def linked(b: tuple) -> tuple | None:
        if b[0] != "param":
            return b
        names = params.get(b[1], [])
        return ("var", b[1], names[b[2]]) if b[2] < len(names) and names[b[2]] else None

    returns = {k: {m for b in bs if (m := linked(b)) is not None} for k, bs in returns.items()}
    for flow in flows.values():
        flow.edges = [(a, m) for a, b in flow.edges if (m := linked(b)) is not None]
    return PageFlow(flows, returns)
