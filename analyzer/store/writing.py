"""Writing an analysis: every object numbered once, by level (each after
all it refers to), then grouped by record type in columns."""

from __future__ import annotations

import itertools
import json
import typing
from collections.abc import Callable

from analyzer.analysis import Analysis
from analyzer.nodes import StepKey
from analyzer.store.schema import (
    MAGIC,
    PLAIN,
    REGISTRY,
    TERMS,
    fields_of,
    hints_of,
    is_optional,
    is_record,
)


def encode(analysis: Analysis) -> bytes:
    """Compact JSON of an analysis. Raises TypeError for a value the format
    has no place for, RecursionError for terms nested too deep: the
    analysis is then not stored."""
    if type(analysis) is not Analysis:
        raise TypeError(f"not an Analysis: {type(analysis).__name__}")
    enc = _Encoder()
    enc.ref(analysis)
    classes = [[cls.__name__, list(fields_of(cls)) if cls is not tuple else []] for cls in enc.classes]
    return json.dumps([MAGIC, classes, enc.groups()], separators=(",", ":"),
                      check_circular=False, default=_number).encode()


class _Ref:
    """An object's number, known once every object is: ``json.dumps``
    writes it through ``_number``."""

    __slots__ = ("level", "n")

    def __init__(self, level: int) -> None:
        self.level = level  # 0 for an object that refers to none, else 1 + its highest reference's
        self.n = -1


def _number(ref: object) -> int:
    if type(ref) is not _Ref:
        raise TypeError(f"cannot store a {type(ref).__name__}")
    return ref.n


class _Encoder:
    def __init__(self) -> None:
        self.seen: dict[int, _Ref] = {}  # id(object) -> its reference
        self.tuples: dict[tuple, _Ref] = {}  # a node tuple -> its reference
        self.classes: dict[type, int] = {}  # -> index in the class list
        self.made: list[tuple[_Ref, int, list]] = []  # (reference, class, values)
        self.levels = [0]  # per object being written: the highest level it refers to

    def ref(self, obj) -> _Ref:
        got = self.seen.get(id(obj))
        if got is None:
            cls = type(obj)
            if REGISTRY.get(cls.__name__) is not cls:
                raise TypeError(f"cannot store a {cls.__name__}")
            self.levels.append(-1)
            values = [w(getattr(obj, f), self) for f, w in _writers(cls).items()]
            got = self.seen[id(obj)] = _Ref(self.levels.pop() + 1)
            self.made.append((got, self.classes.setdefault(cls, len(self.classes)), values))
        self.levels[-1] = max(self.levels[-1], got.level)
        return got

    def node(self, v):
        """A value of a field typed ``tuple``: a tuple of strings and ints
        (a flow or graph node, a dependency) is an object of its own,
        written once however often it occurs; anything else is loose."""
        if type(v) is tuple and all(type(x) is str or type(x) is int for x in v):
            got = self.tuples.get(v)
            if got is None:
                got = self.tuples[v] = _Ref(0)
                self.made.append((got, self.classes.setdefault(tuple, len(self.classes)), list(v)))
            self.levels[-1] = max(self.levels[-1], 0)
            return got
        return self.loose(v)

    def loose(self, v):
        """A value without a precise annotation, tagged."""
        t = type(v)
        if v is None or t in PLAIN:
            return v
        if t is tuple:
            return [self.loose(x) for x in v]
        if t is StepKey:
            return {"k": self.ref(v.step)}
        if t is list:
            return {"l": [self.loose(x) for x in v]}
        if t is frozenset or t is set:
            return {"f" if t is frozenset else "s": [self.loose(x) for x in v]}
        if isinstance(v, TERMS):
            return {"o": self.ref(v)}
        raise TypeError(f"cannot store a {t.__name__} in an untyped place")

    def groups(self) -> list[list]:
        """The objects by level (each after all it refers to), then class;
        numbered in that order, one group per level and class."""
        def order(m: tuple) -> tuple[int, int]:
            return (m[0].level, m[1])

        self.made.sort(key=order)
        for n, (ref, _cls, _values) in enumerate(self.made):
            ref.n = n
        out: list[list] = []
        for (_level, cls), run in itertools.groupby(self.made, key=order):
            items = [values for _ref, _cls, values in run]
            if cls == self.classes.get(tuple):
                out.append([cls, len(items), items])
            else:
                out.append([cls, len(items), *map(list, zip(*items, strict=True))])
        return out


_Writer = Callable[[object, _Encoder], object]
_WRITERS: dict[type, dict[str, _Writer]] = {}


def _writers(cls: type) -> dict[str, _Writer]:
    got = _WRITERS.get(cls)
    if got is None:
        hints = hints_of(cls)
        got = _WRITERS[cls] = {f: _writer(hints[f]) for f in fields_of(cls)}
    return got


def _writer(hint) -> _Writer:
    """A writer of one field's value. It refuses what the reader would
    refuse (a value that does not match the annotation): an entry that can
    never be read back would be a miss on every run."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)

    def bad(v):
        raise TypeError(f"a {type(v).__name__} where the annotation says {hint!r}")

    if hint in PLAIN:
        return lambda v, enc: v if type(v) is hint else bad(v)
    if hint is object:
        return lambda v, enc: None if v is None else enc.ref(v) if isinstance(v, TERMS) else bad(v)
    if is_record(hint):
        return lambda v, enc: enc.ref(v) if type(v) is hint else bad(v)
    if is_optional(origin, args):
        inner = _writer(next(a for a in args if a is not type(None)))
        return lambda v, enc: None if v is None else inner(v, enc)
    if origin in (list, frozenset, set) or (origin is tuple and args[-1:] == (Ellipsis,)):
        item = _writer(args[0])
        return lambda v, enc: [item(x, enc) for x in v]
    if origin is tuple:
        items = [_writer(a) for a in args]
        return lambda v, enc: [w(x, enc) for w, x in zip(items, v, strict=True)]
    if origin is dict:
        key, val = _writer(args[0]), _writer(args[1])
        if args[0] is str:
            return lambda v, enc: {k if type(k) is str else bad(k): val(x, enc) for k, x in v.items()}
        return lambda v, enc: [[key(k, enc), val(x, enc)] for k, x in v.items()]
    if hint is tuple:
        return lambda v, enc: enc.node(v)
    if hint in (frozenset, list, set):
        return lambda v, enc: [enc.loose(x) for x in v]
    raise TypeError(f"no way to store a field typed {hint!r}")
