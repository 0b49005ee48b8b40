"""Reading an entry back: each group's columns checked at once, its
objects built with one ``map`` of the constructor; anything else is
``Malformed``."""

from __future__ import annotations

import gc
import itertools
import json
import typing
from collections.abc import Callable

from analyzer import terms
from analyzer.analysis import Analysis
from analyzer.nodes import node_of
from analyzer.store.schema import (
    MAGIC,
    PLAIN,
    REGISTRY,
    SCALAR,
    TERMS,
    Malformed,
    fields_of,
    hints_of,
    is_optional,
    is_record,
)


def decode(data: bytes | str) -> Analysis:
    """The analysis ``encode`` wrote; raises ``Malformed`` for anything else."""
    try:
        top = json.loads(data)
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise Malformed(f"not JSON: {e}") from None
    if not (type(top) is list and len(top) == 3 and top[0] == MAGIC
            and type(top[1]) is list and type(top[2]) is list and top[2]):
        raise Malformed("not an analysis")
    readers = [_reader(entry) for entry in top[1]]
    objs: list = []
    collecting = gc.isenabled()
    gc.disable()  # thousands of new objects, no cycles among them: spare the collector
    try:
        for group in top[2]:
            if not (type(group) is list and len(group) >= 2 and type(group[0]) is int
                    and 0 <= group[0] < len(readers) and type(group[1]) is int and group[1] >= 0):
                raise Malformed("a group of no record type")
            objs += readers[group[0]](group, objs)
    except Malformed:
        raise
    except (LookupError, TypeError, ValueError, RecursionError) as e:  # an unhashable key, ...
        raise Malformed(f"a group of no known shape: {e}") from None
    finally:
        if collecting:
            gc.enable()
    if not objs or type(objs[-1]) is not Analysis:
        raise Malformed("the last object is not the analysis")
    return objs[-1]


_Reader = Callable[[object, list], object]
_Group = Callable[[list, list], list]
_READERS: dict[tuple[str, tuple[str, ...]], _Group] = {}


def _reader(entry) -> _Group:
    """The function that builds the objects of one group of a record type,
    after checking that the type is one of ours with the fields this
    program gives it."""
    if not (type(entry) is list and len(entry) == 2 and type(entry[0]) is str
            and type(entry[1]) is list and all(type(f) is str for f in entry[1])):
        raise Malformed("a record type that is not [name, fields]")
    key = (entry[0], tuple(entry[1]))
    got = _READERS.get(key)
    if got is None:
        got = _READERS[key] = _make_reader(*key)
    return got


def _make_reader(name: str, fields: tuple[str, ...]) -> _Group:
    if name == "tuple" and not fields:
        return _tuples
    cls = REGISTRY.get(name)
    if cls is None:
        raise Malformed(f"no such record: {name!r}")
    names = fields_of(cls)
    if fields != names:
        raise Malformed(f"{name}: fields {list(fields)} are not {list(names)}")
    hints = hints_of(cls)
    columns = [_column(hints[f], f"{name}.{f}") for f in names]

    def build(group: list, objs: list) -> list:
        count = group[1]
        if len(group) != 2 + len(columns):
            raise Malformed(f"{name}: {len(group) - 2} columns for {len(columns)} fields")
        values = []
        for read, col in zip(columns, group[2:], strict=True):
            if type(col) is not list or len(col) != count:
                raise Malformed(f"{name}: a column of the wrong length")
            values.append(read(col, objs))
        return list(map(cls, *values)) if values else [cls() for _ in range(count)]
    return build


def _tuples(group: list, objs: list) -> list:
    """A group of node tuples: ``[class, count, [[item, ...], ...]]``."""
    rows = group[2] if len(group) == 3 else None
    if not (type(rows) is list and len(rows) == group[1] and set(map(type, rows)) <= {list}
            and set(map(type, itertools.chain.from_iterable(rows))) <= _NODE_ITEMS):
        raise Malformed("node tuples that are not lists of strings and numbers")
    return list(map(tuple, group[2]))


_NODE_ITEMS = frozenset({str, int})


def _column(hint, where: str) -> Callable[[list, list], list]:
    """A reader of one field's column: checks and gives all its values at
    once where it can (scalars, references, lists of them), one by one
    where it cannot."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    optional = is_optional(origin, args)
    inner = next(a for a in args if a is not type(None)) if optional else hint
    per_value = _read(hint, where)

    def values(col, objs: list) -> list:
        if type(col) is not list:
            raise Malformed(f"{where}: a column that is not a list")
        return [per_value(v, objs) for v in col]
    if inner in PLAIN:
        allowed = {inner, type(None)} if optional else {inner}

        def plain(col, objs: list) -> list:
            if type(col) is not list or not set(map(type, col)) <= allowed:
                raise Malformed(f"{where}: a value of the wrong type")
            return col
        return plain
    many = _many(hint, where)
    if many is None:
        return values

    def at_once(col, objs: list) -> list:
        got = many(col, objs) if type(col) is list and col else None
        return got if got is not None else values(col, objs)  # None among them, loose tuples, ...
    return at_once


def _many(hint, where: str) -> Callable[[list, list], list | None] | None:
    """A reader of many values of one type at once: references looked up
    with one map, sequences and tuples of them flattened first. It gives
    None when the values are not all of that simple shape (the caller reads
    them one by one); this function gives None for a type it cannot read so."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in PLAIN:
        return lambda vs, objs: vs if set(map(type, vs)) == {hint} else None
    kinds = _kinds(hint)
    if kinds is not None:
        return lambda vs, objs: _lookup(vs, objs, kinds, where)
    if origin in (list, frozenset, set) or (origin is tuple and args[-1:] == (Ellipsis,)):
        items = _many(args[0], where)
        if items is None:
            return None
        make = tuple if origin is tuple else origin

        def sequences(vs: list, objs: list) -> list | None:
            if set(map(type, vs)) != {list}:
                return None
            flat = list(itertools.chain.from_iterable(vs))
            got = items(flat, objs) if flat else []
            if got is None:
                return None
            it = iter(got)
            return [make(itertools.islice(it, n)) for n in map(len, vs)]
        return sequences
    if origin is tuple:
        parts = [_many(a, where) for a in args]
        if None in parts:
            return None

        def tuples(vs: list, objs: list) -> list | None:
            if set(map(type, vs)) != {list} or set(map(len, vs)) != {len(parts)}:
                return None
            got = [many([v[i] for v in vs], objs) for i, many in enumerate(parts)]
            return None if None in got else list(zip(*got, strict=True))
        return tuples
    return None


def _kinds(hint) -> frozenset[type] | None:
    """The types an object a value of this hint refers to may have; None
    for a hint whose values are not references."""
    if hint is object:
        return frozenset(TERMS)
    if is_record(hint) or hint is tuple:
        return frozenset({hint})
    return None


def _lookup(numbers: list, objs: list, kinds: frozenset[type], where: str) -> list | None:
    """The objects a list of numbers refers to, all at once; None when not
    all of them are numbers (the caller reads them one by one)."""
    if set(map(type, numbers)) != {int}:
        return None
    if min(numbers) < 0 or max(numbers) >= len(objs):
        raise Malformed(f"{where}: a reference to no object")
    got = list(map(objs.__getitem__, numbers))
    if not set(map(type, got)) <= kinds:
        raise Malformed(f"{where}: a reference to the wrong record")
    return got


def _read(hint, where: str) -> _Reader:
    """A reader of one field's value: checks its type and builds it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)

    def bad(_v=None, _objs=None):
        raise Malformed(f"{where}: a value of the wrong type")

    if hint in PLAIN:
        return lambda v, objs: v if type(v) is hint else bad()
    if hint is object:
        return lambda v, objs: None if v is None else _obj(v, objs, TERMS, where)
    if is_record(hint):
        return lambda v, objs: _obj(v, objs, hint, where)
    if is_optional(origin, args):
        inner = _read(next(a for a in args if a is not type(None)), where)
        return lambda v, objs: None if v is None else inner(v, objs)
    if origin in (list, frozenset, set) or (origin is tuple and args[-1:] == (Ellipsis,)):
        return _sequence(origin, args[0], where)
    if origin is tuple:
        items = [_read(a, where) for a in args]

        def fixed(v, objs: list):
            if type(v) is not list or len(v) != len(items):
                bad()
            return tuple([r(x, objs) for r, x in zip(items, v, strict=True)])
        return fixed
    if origin is dict and args[0] is str:
        val, many = _read(args[1], where), _many(args[1], where)

        def mapping(v, objs: list):
            if type(v) is not dict:
                bad()
            got = many(list(v.values()), objs) if many is not None and v else None
            if got is not None:
                return dict(zip(v, got, strict=True))
            return {k: val(x, objs) for k, x in v.items()}
        return mapping
    if origin is dict:
        key, val = _read(args[0], where), _read(args[1], where)
        return lambda v, objs: ({key(kv[0], objs): val(kv[1], objs) for kv in v}
                                if type(v) is list and all(type(kv) is list and len(kv) == 2 for kv in v)
                                else bad())
    if hint is tuple:  # a node's row, another tuple, or a graph node key
        def node(v, objs: list):
            if type(v) is int:
                if 0 <= v < len(objs) and type(objs[v]) is tuple:
                    return objs[v]
                bad()
            got = _loose(v, objs, where)
            return got if isinstance(got, tuple) else bad()
        return node
    if hint in (frozenset, list, set):
        return lambda v, objs: hint([_loose(x, objs, where) for x in v]) if type(v) is list else bad()
    raise TypeError(f"no way to read a field typed {hint!r}")


def _sequence(origin: type, hint, where: str) -> _Reader:
    """A reader of a list, set or tuple of one item type: all at once where
    ``_many`` can, else one by one."""
    make = tuple if origin is tuple else origin
    item = _read(hint, where)
    many = _many(hint, where)

    def sequence(v, objs: list):
        if type(v) is not list:
            raise Malformed(f"{where}: a value of the wrong type")
        got = many(v, objs) if many is not None and v else None
        return make(got if got is not None else [item(x, objs) for x in v])
    return sequence


def _obj(v, objs: list, kind, where: str):
    """Row ``v``, an object already built, of the type(s) ``kind``."""
    if type(v) is int and 0 <= v < len(objs):
        obj = objs[v]
        if isinstance(obj, kind) if type(kind) is tuple else type(obj) is kind:
            return obj
    raise Malformed(f"{where}: not a reference to a {getattr(kind, '__name__', 'term')}")


def _loose(v, objs: list, where: str):
    if v is None or type(v) in PLAIN:
        return v
    if type(v) is list:
        if _scalars(v):  # a graph or flow node: the common case
            return tuple(v)
        return tuple([_loose(x, objs, where) for x in v])
    if type(v) is dict and len(v) == 1:
        ((tag, x),) = v.items()
        if tag == "o":
            return _obj(x, objs, TERMS, where)
        if tag == "k":
            return node_of(_obj(x, objs, terms.Step, where))
        if tag in ("l", "f", "s") and type(x) is list:
            items = [_loose(y, objs, where) for y in x]
            return items if tag == "l" else frozenset(items) if tag == "f" else set(items)
    raise Malformed(f"{where}: an untyped value of no known shape")


def _scalars(items: list) -> bool:
    return all(map(SCALAR.__contains__, map(type, items)))
