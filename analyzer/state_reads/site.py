"""The comparing ``if``: the role comparison the chain leads to, whose
failing side (after an early ``return``, or inside ``if (!=)``) is the
region whose stores are kept."""

from __future__ import annotations

from analyzer.state_reads.frame import Frame
from analyzer.state_reads.part import Part
from analyzer.state_reads.tree import Syn


class Site(Part):
    def holds(self, frame: Frame, cond: Syn | None) -> bool:
        """Is ``cond`` the condition of the comparison?"""
        if cond is None:
            return False
        line = cond.line
        last = cond.last_line
        compare = self.ix.compare
        return frame.pf.path == compare.file and line <= compare.line <= last

    def __call__(self, frame: Frame, cond: Syn, then: Syn | None, alt: Syn | None, depth: int) -> None:
        ix = self.ix
        inner = cond
        while inner.type == "parenthesized_expression" and inner.named_children:
            inner = inner.named_children[0]
        shape = _compare_shape(frame, inner)
        if shape is None or then is None:
            return
        kind, operands = shape
        fields: dict = {}
        for i, operand in enumerate(operands):
            got = self.role_word(frame, operand, depth)
            if got is not None:
                fields.update((f"{i}:{leaf}", sym) for leaf, sym in got.items())
        if not fields:
            return
        ix.understood = True
        ix.result.fields = fields
        ix.result.compare = frame.step(cond, "compare")
        if kind == "==" and _returns(then) and alt is None:
            ix.result.early_return = True
            frame.region = True  # what follows runs only when the roles differ
        elif kind == "!=":
            ix.result.early_return = False
            frame.region = True
            ix.stmt(frame, then, depth)
            frame.region = False
            if alt is not None:
                for child in alt.named_children:
                    ix.stmt(frame, child, depth)
        else:
            ix.understood = False

    def role_word(self, frame: Frame, node: Syn, depth: int) -> dict | None:
        """The leaves of a role word compared here (``new_role.as_u64``,
        ``root_role.word``), unless it is the context's stored role."""
        got = self.ix.place.word(frame, node, depth)
        return {leaf: v.sym for leaf, v in got.fields.items()} if got is not None else None


def _returns(node: Syn) -> bool:
    if node.type == "return_statement":
        return True
    if node.type == "compound_statement":
        kids = node.named_children
        return bool(kids) and kids[-1].type == "return_statement"
    return False


def _compare_shape(frame: Frame, node: Syn) -> tuple[str, list[Syn]] | None:
    """``a == b && c == d``: ("==", [a, b, c, d]); the same with ``!=`` and
    ``||``."""
    if node.type != "binary_expression":
        return None
    o = node.field("operator").text
    left, right = node.field("left"), node.field("right")
    if o in ("==", "!="):
        return o, [left, right]
    if o in ("&&", "||"):
        a = _compare_shape(frame, _unparen(left))
        b = _compare_shape(frame, _unparen(right))
        want = "==" if o == "&&" else "!="
        if a is not None and b is not None and a[0] == b[0] == want:
            return want, a[1] + b[1]
    return None


def _unparen(node: Syn) -> Syn:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[-1]
    return node
