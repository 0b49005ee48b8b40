"""Keys of the role-flow graph's nodes, without the graph library.

A step node is the tuple ``("step", file, line, col, kind)`` and also
carries its ``Step`` (``key.step``), so a trace renders without the graph;
the other nodes are a function's return, a function's parameter and a slot.
"""

from __future__ import annotations

from analyzer.terms import Step


class StepKey(tuple):
    """``("step", file, line, col, kind)``; equal to that plain tuple."""

    step: Step

    def __new__(cls, step: Step) -> StepKey:
        key = super().__new__(cls, ("step", step.file, step.line, step.col, step.kind))
        key.step = step
        return key

    def __getnewargs__(self) -> tuple:  # pickling: rebuild from the step
        return (self.step,)


def node_of(step: Step) -> StepKey:
    """The node of a step, made once per step and kept on it."""
    key = step.__dict__.get("_node")
    if key is None:
        key = StepKey(step)
        object.__setattr__(step, "_node", key)
    return key


def ret_node(func: str) -> tuple:
    return ("ret", func)


def param_node(func: str, name: str) -> tuple:
    return ("param", func, name)


def slot_node(slot: str) -> tuple:
    return ("slot", slot)


def step_of_node(node) -> Step | None:
    return getattr(node, "step", None)
