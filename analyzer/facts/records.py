"""The fact records: functions, call sites, stores, compare sites, phi
nodes and exits, and ``Facts``, which holds them all for one image."""

from __future__ import annotations

from analyzer.record import field, record
from analyzer.roles import RoleModel
from analyzer.terms import TRUE, Step, Value


@record
class Param:
    name: str
    index: int
    role_type: str | None


@record
class FuncInfo:
    name: str
    file: str
    line: int
    params: list[Param]
    returns_role: str | None
    returns: list[tuple[object, Value, Step]] = field(default_factory=list)  # (path cond, value, step)
    defines_fields: bool = False  # writes fields of a role it built or copied
    role_flow: bool = False  # touches role values at all
    digest: str = ""  # of the definition's code (cparse.code_digest): did a patch change it?
    end_line: int = 0
    not_analyzed: str = ""  # why it was left out (beyond the limits), "" when analyzed

    def param_index(self, name: str) -> int | None:
        for p in self.params:
            if p.name == name:
                return p.index
        return None


@record
class CallSite:
    id: int
    caller: str
    callee: str
    args: list[object]  # Value for role arguments, a term otherwise
    step: Step
    cond: object = TRUE  # the path condition the call runs under, in the caller


@record
class Store:
    id: int
    func: str
    slot: str
    value: Value | None  # None for a partial (single field) store
    path: str  # "" for a whole-role store, the field path otherwise
    step: Step
    cond: object = TRUE  # the path condition the store runs under
    # what a partial store writes: a scalar term into a field (``sp->role.x
    # = v``), a ``Value`` of the sub role or word it names (``.base = r``,
    # ``.word = w``), or a ``Mask`` for ``.word &= m``
    part: object = None


@record
class Compare:
    id: int
    func: str
    left: Value
    right: Value
    fields: list[str] | None  # compared leaf paths, None for all
    step: Step
    left_text: str
    right_text: str
    cond: object = TRUE  # what must hold for the comparison to be evaluated


@record
class Phi:
    id: int
    func: str
    alternatives: list[tuple[object, Value]]
    step: Step


@record
class Exit:
    """A ``return EXPR;`` of any function, with the path condition it is
    taken under (role comparisons in it are ``CompareCond``)."""

    id: int
    func: str
    cond: object
    text: str  # the returned expression, normalized
    call: int  # the call site it returns the result of, -1 if none
    step: Step


@record
class Facts:
    model: RoleModel
    functions: dict[str, FuncInfo] = field(default_factory=dict)
    calls: list[CallSite] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)
    compares: list[Compare] = field(default_factory=list)
    phis: dict[int, Phi] = field(default_factory=dict)
    exits: list[Exit] = field(default_factory=list)
    globals: dict[str, Value] = field(default_factory=dict)
    global_files: dict[str, str] = field(default_factory=dict)  # global -> file
    # iterator macros that skip some items: name -> (params, condition to skip)
    loop_filters: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    next_id: int = 0
    # what role-incomplete reads beside the role facts (analyzer.state_sources.StateView)
    state: object = None

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id
