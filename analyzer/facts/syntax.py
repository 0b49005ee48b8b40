"""Text and node helpers of the executor: the role type a C type names, the
canonical text of an expression, parentheses and casts."""

from __future__ import annotations

import re

from analyzer.cparse import Node
from analyzer.roles import RoleModel

_ROLE_DECL = re.compile(r"\b(?:union|struct)\s+(\w+)")


def role_type_of(type_text: str, model: RoleModel) -> str | None:
    """The role type named by a C type text, unless it is a pointer."""
    if "*" in type_text:
        return None
    m = _ROLE_DECL.search(type_text)
    if m and model.is_role(m.group(1)):
        return m.group(1)
    return None


def squash(text: str) -> str:
    return " ".join(text.split())


_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_TRUE = re.compile(r"\btrue\b")
_FALSE = re.compile(r"\bfalse\b")


def normalize_expr(text: str) -> str:
    """Canonical text of an opaque expression: no whitespace, true/false as 1/0.
    (A substitution runs only where its text occurs: most expressions have
    neither a comment nor a boolean, and this is asked thousands of times.)"""
    if "/*" in text:
        text = _COMMENT.sub("", text)
    if "true" in text:
        text = _TRUE.sub("1", text)
    if "false" in text:
        text = _FALSE.sub("0", text)
    text = "".join(text.split())  # every blank, as \s+ (both are str.isspace)
    while text.startswith("(") and text.endswith(")") and balanced(text[1:-1]):
        text = text[1:-1]
    return text


def balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def parse_int(text: str) -> int | None:
    text = text.rstrip("uUlL")
    try:
        return int(text, 0)
    except ValueError:
        return None


def split_args(text: str) -> list[str]:
    """``a, f(b, c), d`` -> ["a", "f(b, c)", "d"]."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def walk(node: Node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.children)


def only_child(node: Node) -> Node | None:
    """The one expression inside parentheses (comments aside), else None."""
    inner = [c for c in node.named_children if c.type != "comment"]
    return inner[0] if len(inner) == 1 else None


def unwrap(node: Node | None, casts: bool = True) -> Node | None:
    """``((T) x)`` -> ``x``: what a value is does not depend on parentheses
    or casts. A parenthesis holding more than one expression is kept."""
    while node is not None:
        if node.type == "parenthesized_expression":
            inner = only_child(node)
            if inner is None:
                return node
            node = inner
        elif casts and node.type == "cast_expression":
            node = node.child_by_field_name("value")
        else:
            return node
    return node


def strip_parens(node: Node | None) -> Node | None:
    node = unwrap(node, casts=False)
    return None if node is not None and node.type == "parenthesized_expression" else node


def store_pointer(step_text: str, slot: str) -> str:
    """The pointer a store writes through: ``sp`` in ``sp->role = role``
    (``step_text``: the store's text, ``slot``: the member written)."""
    text = normalize_expr(step_text.split("=", 1)[0])
    cut = max(text.rfind("->" + slot), text.rfind("." + slot))
    return text[:cut] if cut > 0 else text
