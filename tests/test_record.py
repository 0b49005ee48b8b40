"""analyzer.record makes what dataclasses makes, for the options this
package uses: each class is built both ways and the two compared."""

from __future__ import annotations

import dataclasses
import pickle
from typing import ClassVar

import pytest

from analyzer import record as rec


def both(body, **options):
    """The class ``body`` defines, made by dataclass and by record."""
    return (dataclasses.dataclass(**options)(body(dataclasses.field)),
            rec.record(**options)(body(rec.field)))


def plain(field):
    class P:
        """doc"""

        a: int
        b: str = "x"
        c: list = field(default_factory=list)
        d: object = field(default=None, compare=False)
        e: tuple = field(default=(), repr=False)
        kind: ClassVar[str] = "plain"
    return P


def test_init_defaults_repr_eq_as_dataclass():
    for options in ({}, {"frozen": True}, {"slots": True}, {"unsafe_hash": True},
                    {"frozen": True, "slots": True}):
        d, r = both(plain, **options)
        for args, kw in (((1,), {}), ((1, "y", [2]), {"d": 3}), ((), {"a": 5, "e": (1,)})):
            x, y = d(*args, **kw), r(*args, **kw)
            assert repr(x).replace(d.__qualname__, "P") == repr(y).replace(r.__qualname__, "P")
            assert [getattr(x, n) for n in "abcde"] == [getattr(y, n) for n in "abcde"]
        # compare=False leaves d out of equality and hashing
        assert r(1, d=1) == r(1, d=2) and r(1) != r(2) and r(1) != d(1)
        assert r(1).c is not r(1).c  # a new list for each
        assert [f.name for f in rec.fields(r)] == [f.name for f in dataclasses.fields(d)]
        assert r.kind == "plain" and "kind" not in {f.name for f in rec.fields(r)}


def test_hash_rules_as_dataclass():
    for options in ({}, {"frozen": True}, {"unsafe_hash": True}):
        d, r = both(lambda field: type("H", (), {"__annotations__": {"a": "int", "b": "tuple"}}),
                    **options)
        if d.__hash__ is None:
            assert r.__hash__ is None
        else:  # the same hash: sets of records iterate in the same order
            assert hash(d(1, (2,))) == hash(r(1, (2,)))


def test_frozen_refuses_assignment():
    _d, r = both(plain, frozen=True)
    x = r(1)
    with pytest.raises(rec.FrozenInstanceError):
        x.a = 2
    with pytest.raises(AttributeError):
        del x.b
    assert x.a == 1


def test_slots_have_no_dict():
    _d, r = both(plain, slots=True)
    assert "a" in r.__slots__ and not hasattr(r(1), "__dict__")


def test_inheritance_post_init_and_replace():
    @rec.record(frozen=True)
    class Base:
        a: int
        b: int = 0

    @rec.record(frozen=True)
    class Sub(Base):
        c: str = ""
        seen: ClassVar[list] = []

        def __post_init__(self) -> None:
            Sub.seen.append(self.c)

    s = Sub(1, 2, "z")
    assert (s.a, s.b, s.c) == (1, 2, "z") and Sub.seen == ["z"]
    t = rec.replace(s, c="w")
    assert (t.a, t.b, t.c) == (1, 2, "w") and Sub.seen == ["z", "w"]
    assert s != t and s == Sub(1, 2, "z") and Base(1, 2) != s
    assert repr(s).endswith("Sub(a=1, b=2, c='z')")


def test_init_false_and_own_methods_kept():
    @rec.record
    class K:
        a: int
        cache: dict = rec.field(init=False, default_factory=dict, repr=False)

        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    k = K(1)
    assert k.cache == {} and k == K(2) and hash(k) == object.__hash__(k)
    with pytest.raises(ValueError):
        rec.replace(k, cache={})


def _pickled(**options):
    """A record class of fields a and b made with ``options``, under a
    module-level name of its own (pickle finds a class by its name)."""
    name = "_P_" + "_".join(sorted(options))
    cls = type(name, (), {"__annotations__": {"a": "int", "b": "str"}, "b": "",
                          "__module__": __name__, "__qualname__": name})
    globals()[name] = made = rec.record(**options)(cls)
    return made


def test_pickle_round_trip():
    for options in ({}, {"frozen": True}, {"frozen": True, "slots": True}, {"slots": True}):
        r = _pickled(**options)
        x = r(1, "y")
        y = pickle.loads(pickle.dumps(x))
        assert y == x and type(y) is r


def test_cycle_repr_does_not_recurse():
    @rec.record
    class Node:
        other: object = None

    n = Node()
    n.other = n
    assert repr(n).endswith("Node(other=...)")


def test_non_default_after_default_is_refused():
    class Bad:
        a: int = 0
        b: int

    with pytest.raises(TypeError):
        rec.record(Bad)
