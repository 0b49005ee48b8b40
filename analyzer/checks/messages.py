"""Finding messages as records (pyflakes' ``messages.py``): a kind of
message is a small class holding its rule, severity and format string; a
check says which kind, with what arguments, and the text is made here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from analyzer.checks import (
    ROLE_INCOMPLETE,
    ROLE_MISMATCH,
    ROLE_MISMATCH_UNKNOWN,
    ROLE_UNCHECKED_REUSE,
)


@dataclass(frozen=True)
class Message:
    rule: ClassVar[str]
    severity: ClassVar[str]
    text: ClassVar[str]  # a str.format template of the arguments

    def arguments(self) -> dict[str, object]:
        return dict(vars(self))

    def __str__(self) -> str:
        return self.text.format(**self.arguments())


@dataclass(frozen=True)
class NeverMatches(Message):
    """Two different constants: the comparison can never succeed."""

    rule, severity = ROLE_MISMATCH, "error"
    text = ("role field '{field}' is {value} on the {side} side but {other} on the "
            "{other_side} side: this comparison never matches")
    field: str
    value: object
    side: str
    other: object
    other_side: str


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class ForcedMisses(_Forced):
    """The lookups miss whenever the computed value is not the forced one."""

    rule, severity = ROLE_MISMATCH, "warning"
    text = ("role field '{field}' is forced to {value} on the {side} side{when} but computed "
            "as '{computed}' on the {other_side} side: lookups miss whenever it is not {value}")


@dataclass(frozen=True)
class ForcedUnderUndecidedGuard(_Forced):
    """As ``ForcedMisses``, but whether the guard holds on the other side is unknown."""

    rule, severity = ROLE_MISMATCH_UNKNOWN, "note"
    text = ("role field '{field}' is forced to {value} on the {side} side{when} but computed "
            "as '{computed}' on the {other_side} side, where the guard cannot be decided")


@dataclass(frozen=True)
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



def _and(names: tuple) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class _RoleVaries(Message):
    """An existing page kept for a key whose role fields ``fields`` vary
    between the callers of ``func``, and are not compared."""

    rule, severity = ROLE_UNCHECKED_REUSE, "error"
    fields: tuple  # the role fields that vary, in the role's order
    func: str

    def arguments(self) -> dict[str, object]:
        return {**super().arguments(), "fields": _and(self.fields),
                "verb": "vary" if len(self.fields) > 1 else "varies"}


@dataclass(frozen=True)
class RoleNotCompared(_RoleVaries):
    """The existing page's role is never compared with the key's."""

    text = ("an existing page is kept without comparing its role with the key's: "
            "{fields} {verb} between the callers of {func}")


@dataclass(frozen=True)
class RolePartlyCompared(_RoleVaries):
    """As ``RoleNotCompared``, after comparing the fields ``compared`` only."""

    text = ("an existing page is kept after comparing only {compared} of its role with the "
            "key's: {fields} {verb} between the callers of {func}")
    compared: tuple = ()

    def arguments(self) -> dict[str, object]:
        return {**super().arguments(), "compared": _and(self.compared)}


@dataclass(frozen=True)
class MemberNotCompared(Message):
    """An existing page is kept without comparing a member of the key (gfn)."""

    rule, severity = ROLE_UNCHECKED_REUSE, "error"
    text = ("an existing page is kept without comparing its {member} with the key's: "
            "{member} varies between the callers of {func}")
    member: str
    func: str

@dataclass(frozen=True)
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
