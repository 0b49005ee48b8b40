"""The symbolic execution of one function body (or of a global initializer)."""

from __future__ import annotations

from analyzer.cparse import FunctionDef, Node, ParsedFile
from analyzer.facts.assignments import Assignments
from analyzer.facts.conditions import Conditions
from analyzer.facts.expressions import Roles, Scalars, Words
from analyzer.facts.loops import FilterConditions
from analyzer.facts.paths import Paths
from analyzer.facts.records import Facts, Phi
from analyzer.facts.sites import Sites
from analyzer.facts.state import Binder, State
from analyzer.facts.statements import Statements
from analyzer.facts.syntax import squash
from analyzer.terms import Const, Not, Origin, Ref, Scalar, Step, Unknown, Value


class Executor:
    """Where execution is (file, function, the facts it enters), its branch
    state (``binder``), and the parts that give a node its meaning, each
    with one handler per node type: ``stmt`` executes statements, ``assign``
    the expressions of expression statements; ``role``, ``word`` and
    ``scalar`` read an expression as a role value, a role word or a scalar
    term, ``cond`` as a condition; ``paths`` reads member paths and
    ``sites`` registers call and compare sites."""

    def __init__(self, pf: ParsedFile, fd: FunctionDef | None, facts: Facts,
                 filters: FilterConditions | None = None) -> None:
        self.pf = pf
        self.fd = fd
        self.facts = facts
        self.model = facts.model
        self.func = fd.name if fd else ""
        self.info = facts.functions.get(self.func) if fd else None
        self.filters = filters or {}  # the parsed conditions of filtering loops
        self.binder = Binder(facts.new_id, self.phi)
        self.seen: set[tuple[int, int, str]] = set()  # nodes scanned for sites
        self.call_sites: dict[tuple[int, int], int] = {}  # call node span -> site id
        # compare node span -> (site id, whether the expression is true when equal)
        self.compare_sites: dict[tuple[int, int], tuple[int, bool]] = {}
        self.role_vars: dict[str, str] = {}  # declared role locals -> type
        self.quiet = False  # reading a macro's condition: register nothing
        self.stmt = Statements(self)
        self.assign = Assignments(self)
        self.role = Roles(self)
        self.word = Words(self)
        self.scalar = Scalars(self)
        self.cond = Conditions(self)
        self.paths = Paths(self)
        self.sites = Sites(self)

    def release(self) -> None:
        """Drop the parts and the branch state: they refer back to the
        executor, which holds the parsed file (its tree-sitter tree), so it
        would otherwise stay alive until the cyclic collector runs. The
        executor cannot be used after this."""
        self.__dict__.clear()

    @property
    def state(self) -> State:
        return self.binder.state

    def run(self) -> None:
        """Bind the parameters, then execute the body."""
        assert self.fd is not None and self.info is not None
        for p in self.info.params:
            if not p.name:
                continue
            if p.role_type:
                self.mark_role_flow()
                st = Step(self.pf.path, self.fd.start_line, 1, self.func, "param",
                          f"parameter {p.name}")
                self.state.roles[p.name] = self.origin_value(
                    p.role_type, Origin("param", p.name, self.func), st)
                self.state.gens[p.name] = 0
                self.role_vars[p.name] = p.role_type
            else:
                self.state.scalars[p.name] = Scalar(self.func, p.name)
        if self.info.returns_role:
            self.mark_role_flow()
        self.stmt.block(self.fd.body)

    # ---- shared by the parts ----------------------------------------------

    def step(self, node: Node, kind: str, text: str | None = None) -> Step:
        if text is None:
            text = squash(self.pf.text_of(node))
        if len(text) > 160:
            text = text[:157] + "..."
        return Step(self.pf.path, self.pf.line_of(node), self.pf.col_of(node), self.func, kind, text)

    def text(self, node: Node) -> str:
        return self.pf.text_of(node)

    def leaves(self, rtype: str) -> list[str]:
        return self.model.leaves(rtype)

    def origin_value(self, rtype: str, origin: Origin, step: Step) -> Value:
        return Value(rtype, {leaf: Ref(origin, origin.path(leaf), step) for leaf in self.leaves(rtype)})

    def zero_value(self, rtype: str, step: Step) -> Value:
        return Value(rtype, {leaf: Const(0, step) for leaf in self.leaves(rtype)}, fresh=True)

    def unknown_value(self, rtype: str, step: Step) -> Value:
        return Value(rtype, {leaf: Unknown("uninitialized", step) for leaf in self.leaves(rtype)}, fresh=True)

    def mark_role_flow(self) -> None:
        if self.info is not None:
            self.info.role_flow = True

    def phi(self, name: str, cond: object, then: Value, other: Value, node: Node) -> Value:
        """A phi node for a role local reassigned differently on two branches."""
        pid = self.facts.new_id()
        st = self.step(node, "phi", f"{name} differs between branches")
        self.facts.phis[pid] = Phi(pid, self.func, [(cond, then), (Not(cond), other)], st)
        return self.origin_value(then.type, Origin("phi", str(pid), self.func, pid), st)
