"""Finding messages as records (pyflakes' ``messages.py``): a kind of
message is a small class holding its rule, severity and format string; a
check says which kind, with what arguments, and the text is made here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from analyzer.checks import (
    ROLE_INCOMPLETE,
    ROLE_MISMATCH,
    ROLE_MISMATCH_UNKNOWN,
    ROLE_UNCHECKED_REUSE,
)
from analyzer.record import fields, record


@record(frozen=True)
class Message:
    rule: ClassVar[str]
    severity: ClassVar[str]
    text: ClassVar[str]  # a str.format template of the arguments

    def arguments(self) -> dict[str, object]:
        return dict(vars(self))

    def __str__(self) -> str:
        return self.text.format(**self.arguments())


@record(frozen=True)
class Misses(Message):
    """A lookup that does not find what a store wrote: the field's value on
    the side where it diverges (``side``), on the other side, the lookups
    that miss with the guest states they miss in ("" for every state), and
    the functions of the stores."""

    field: str
    value: object
    side: str
    forced: bool
    guard: tuple  # (field, value) pairs the forced value is guarded by
    other: object
    other_side: str
    misses: tuple  # ((lookup function, states: None for every state), ...)
    stores: tuple  # store functions

    text = ("role field '{field}' is {value_text} on the {side} side{when} but {other_text} "
            "on the {other_side} side: {consequence}")

    def arguments(self) -> dict[str, object]:
        when = " when " + " and ".join(f"{g}={v}" for g, v in self.guard) if self.guard else ""
        value = (f"forced to {self.value}" if self.forced
                 else f"computed as {self.value}" if isinstance(self.value, str) else f"{self.value}")
        other = (f"computed as {self.other}" if isinstance(self.other, str) else f"{self.other}")
        return {**super().arguments(), "when": when, "value_text": value, "other_text": other,
                "consequence": self.consequence()}

    def consequence(self) -> str:
        never = [fn for fn, text in self.misses if text is None]
        parts = []
        if never:
            stores = _names(list(self.stores)) or "the stores it meets"
            verb = "never finds" if len(never) == 1 else "never find"
            parts.append(f"{_names(never)} {verb} what {stores} store{'s' if len(self.stores) < 2 else ''}")
        by_states: dict[str, list[str]] = {}
        for fn, text in self.misses:
            if text is not None:
                by_states.setdefault(text, []).append(fn)
        for text, fns in by_states.items():
            when = f"whenever {text}" if text else "in some guest states"
            parts.append(f"lookups miss {when} ({', '.join(fns)})")
        return "; ".join(parts)


@record(frozen=True)
class NeverFinds(Misses):
    """In every guest state it holds in, a lookup finds nothing (an error)."""

    rule, severity = ROLE_MISMATCH, "error"


@record(frozen=True)
class MissesWhen(Misses):
    """A lookup misses in some guest states only (a warning that names them)."""

    rule, severity = ROLE_MISMATCH, "warning"


SEVERITY_OF = {NeverFinds: "error", MissesWhen: "warning"}


def misses_class(never: bool) -> type[Misses]:
    return NeverFinds if never else MissesWhen


def encode_misses(msg: Message) -> str:
    """A ``Misses`` as JSON text, for ``Finding.detail`` (the cache stores
    findings as data); "" for any other message."""
    if not isinstance(msg, Misses):
        return ""
    return json.dumps([type(msg).__name__, *(getattr(msg, f.name) for f in fields(msg))])


def decode_misses(text: str) -> Misses | None:
    """The ``Misses`` ``encode_misses`` wrote, None for ""."""
    if not text:
        return None
    name, *args = json.loads(text)
    cls = {c.__name__: c for c in SEVERITY_OF}[name]
    return cls(*(_tuples(a) for a in args))


def _tuples(v: object) -> object:
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _names(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@record(frozen=True)
class _Forced(Message):
    """A constant forced on one side against a value computed on the other."""

    field: str
    value: object
    side: str
    guard: tuple  # (field, value) pairs the override is guarded by
    computed: object
    other_side: str

    def arguments(self) -> dict[str, object]:
        when = " when " + " and ".join(f"{g}={v}" for g, v in self.guard) if self.guard else ""
        return {**super().arguments(), "when": when}


@record(frozen=True)
class ForcedUnderUndecidedGuard(_Forced):
    """As ``ForcedMisses``, but whether the guard holds on the other side is unknown."""

    rule, severity = ROLE_MISMATCH_UNKNOWN, "note"
    text = ("role field '{field}' is forced to {value} on the {side} side{when} but computed "
            "as '{computed}' on the {other_side} side, where the guard cannot be decided")


@record(frozen=True)
class Undecided(Message):
    """Two computed expressions, or one against a value chosen by a guard
    the analysis cannot decide: equal or not, it cannot tell."""

    rule, severity = ROLE_MISMATCH_UNKNOWN, "note"
    text = ("role field '{field}' is {value} on the {side} side and {other} on the "
            "{other_side} side: equal or not cannot be decided")
    field: str
    value: object
    side: str
    other: object
    other_side: str


@record(frozen=True)
class _RoleVaries(Message):
    """An existing page kept for a key whose role fields ``fields`` vary
    between the callers of ``func``, and are not compared."""

    rule, severity = ROLE_UNCHECKED_REUSE, "error"
    fields: tuple  # the role fields that vary, in the role's order
    func: str

    def arguments(self) -> dict[str, object]:
        return {**super().arguments(), "fields": _names(self.fields),
                "verb": "vary" if len(self.fields) > 1 else "varies"}


@record(frozen=True)
class RoleNotCompared(_RoleVaries):
    """The existing page's role is never compared with the key's."""

    text = ("an existing page is kept without comparing its role with the key's: "
            "{fields} {verb} between the callers of {func}")


@record(frozen=True)
class RolePartlyCompared(_RoleVaries):
    """As ``RoleNotCompared``, after comparing the fields ``compared`` only."""

    text = ("an existing page is kept after comparing only {compared} of its role with the "
            "key's: {fields} {verb} between the callers of {func}")
    compared: tuple = ()

    def arguments(self) -> dict[str, object]:
        return {**super().arguments(), "compared": _names(self.compared)}


@record(frozen=True)
class MemberNotCompared(Message):
    """An existing page is kept without comparing a member of the key (gfn)."""

    rule, severity = ROLE_UNCHECKED_REUSE, "error"
    text = ("an existing page is kept without comparing its {member} with the key's: "
            "{member} varies between the callers of {func}")
    member: str
    func: str


@record(frozen=True)
class Unrecorded(Message):
    """vCPU state read by a reconfiguration that an equal role skips, which
    the role does not record and no writer invalidates."""

    rule, severity = ROLE_INCOMPLETE, "warning"
    text = ("{state} ({read}) feeds {feeds}, but the role compared in {site}() does not record "
            "it: when only it changes, {site}() {how} and keeps the old values ({why})")
    state: str
    read: str
    feeds: str
    site: str
    how: str
    why: str
