"""One function's frame while it is interpreted: its locals and where
execution is (the conditions that hold, the reads they depend on, whether
an earlier return left the function)."""

from __future__ import annotations

from analyzer.cparse import FunctionDef, ParsedFile
from analyzer.state_reads.tree import Syn
from analyzer.state_values import V
from analyzer.statesym import FALSE, TRUE, UNKNOWN, and_, not_
from analyzer.terms import Step


class Frame:
    def __init__(self, pf: ParsedFile, fd: FunctionDef, guard: tuple, region: bool,
                 calls: tuple, ident: int):
        self.pf = pf
        self.fd = fd
        self.locals: dict[str, object] = {}
        self.entry = guard  # what holds at the call
        self.local = TRUE  # conditions inside this function
        self.cd: frozenset = frozenset()  # reads the current point depends on (control)
        self.kill = FALSE  # where an earlier return left the function
        self.kill_reads: frozenset = frozenset()
        self.returns: list[tuple[tuple, object, frozenset]] = []
        self.region = region
        self.calls = calls
        self.ident = ident
        self.dead = False
        self.switch_active: list | None = None
        self.subject: object = V(UNKNOWN)  # the value the innermost switch tests
        self.inherited: frozenset = frozenset()

    def guard(self) -> tuple:
        return and_(self.entry, self.local, not_(self.kill) if self.kill != FALSE else TRUE)

    def local_guard(self) -> tuple:
        return and_(self.local, not_(self.kill) if self.kill != FALSE else TRUE)

    def deps(self) -> frozenset:
        return self.cd | self.kill_reads

    def step(self, node: Syn, kind: str) -> Step:
        return node.step(self.fd.name, kind)
