"""Record classes: what ``dataclasses.dataclass`` makes of a class, for the
part of it this package uses, at a fraction of the cost.

Every command builds about ninety record classes while its modules import.
``dataclasses`` makes each one by compiling its methods one at a time
(five or six compilations for a frozen class) and pulls ``inspect`` and
``ast`` in: together some 90 ms of a 0.5 s ``check``, before any work.
``record`` compiles nothing when a class is made: equality, hashing, repr
and the frozen guards are closures over the field names (equality and
hashing read the fields with one ``operator.attrgetter``), and
``__init__``, the one method whose speed matters, is compiled on the
class's first instantiation, so only for the classes a run makes.

What it makes is what ``dataclass`` makes, method for method: ``__init__``
(defaults, ``field(default_factory=...)``, ``init=False``, a
``__post_init__`` called last), ``__repr__``, ``__eq__`` over the fields
that compare, ``__hash__`` by the same rules (``frozen`` or ``unsafe_hash``;
``None`` for a mutable class without its own), ``frozen`` classes that
refuse assignment, ``slots``, inherited fields and ``ClassVar`` annotations
left out. ``fields`` and ``replace`` are its ``dataclasses`` namesakes. Not
supported, because nothing here uses them: ``order``, ``InitVar``,
``kw_only``, ``match_args`` (``record`` takes no option for them: asking
is a ``TypeError``, not a class that quietly differs).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar

__all__ = ["FrozenInstanceError", "field", "fields", "is_record", "record", "replace"]


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


MISSING: Any = _Sentinel("MISSING")  # no default
_HAS_FACTORY: Any = _Sentinel("<factory>")  # the default of an argument its factory makes


class Field:
    """One field of a record, as ``field()`` declares it."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "name", "repr")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True,
                 repr: bool = True, compare: bool = True, hash: bool | None = None) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.hash = hash

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True,
          repr: bool = True, compare: bool = True, hash: bool | None = None) -> Any:
    """A field with a default, a default factory, or left out of
    ``__init__``, ``__repr__``, ``__eq__`` or ``__hash__``."""
    return Field(default, default_factory, init, repr, compare, hash)


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    got = getattr(obj, "__record_fields__", None)
    if got is None:
        raise TypeError(f"{obj!r} is not a record")
    return tuple(got.values())


def is_record(obj: Any) -> bool:
    return hasattr(obj, "__record_fields__")


def replace(obj: Any, /, **changes: Any) -> Any:
    """A new record of ``obj``'s class with ``changes`` to its fields, made
    through ``__init__`` (and so through ``__post_init__``)."""
    for f in fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, "
                                 "it cannot be specified with replace()")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def record(cls: type | None = None, /, *, frozen: bool = False, slots: bool = False,
           unsafe_hash: bool = False) -> Any:
    """``@record``, ``@record(frozen=True)``, ``@record(slots=True)``,
    ``@record(unsafe_hash=True)``: as ``@dataclass`` with those options."""
    def wrap(c: type) -> type:
        return _process(c, frozen, slots, unsafe_hash)

    return wrap if cls is None else wrap(cls)


def _is_classvar(annotation: object) -> bool:
    """``ClassVar[...]``, written out (``from __future__ import annotations``)
    or not: a class attribute, not a field."""
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _process(cls: type, frozen: bool, slots: bool, unsafe_hash: bool) -> type:
    own = cls.__dict__
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        base_fields = base.__dict__.get("__record_fields__")
        if base_fields is not None:
            found.update(base_fields)
    for name, annotation in own.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = own.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        found[name] = f
        # as dataclass leaves it: the class attribute is the plain default
        if f.default is not MISSING:
            setattr(cls, name, f.default)
        elif isinstance(value, Field):
            delattr(cls, name)
    if slots:
        cls = _with_slots(cls, tuple(n for n in found if n not in _inherited_slots(cls)))
    cls.__record_fields__ = found  # type: ignore[attr-defined]
    _check_order(cls, list(found.values()))
    _add_methods(cls, list(found.values()), frozen, slots, unsafe_hash)
    return cls


def _inherited_slots(cls: type) -> set[str]:
    out: set[str] = set()
    for base in cls.__mro__[1:-1]:
        got = base.__dict__.get("__slots__", ())
        out.update((got,) if isinstance(got, str) else got)
    return out


def _with_slots(cls: type, names: tuple[str, ...]) -> type:
    """The class made again with ``__slots__`` (a class's slots are fixed
    when it is made), as dataclass does."""
    body = dict(cls.__dict__)
    body["__slots__"] = names
    for name in names:
        body.pop(name, None)  # a default would shadow the slot
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    return new


def _add_methods(cls: type, all_fields: list[Field], frozen: bool, slots: bool,
                 unsafe_hash: bool) -> None:
    own = cls.__dict__
    names = tuple(f.name for f in all_fields)
    if "__init__" not in own:
        cls.__init__ = _lazy_init(cls, all_fields, frozen, slots)  # type: ignore[misc]
    if "__repr__" not in own:
        cls.__repr__ = _repr_of(cls, tuple(f.name for f in all_fields if f.repr))  # type: ignore[method-assign]
    if "__eq__" not in own:
        cls.__eq__ = _eq_of(cls, _getter(tuple(f.name for f in all_fields if f.compare)))  # type: ignore[method-assign]
    # __hash__, by dataclass's rules
    explicit = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if unsafe_hash and explicit:
        raise TypeError(f"cannot overwrite attribute __hash__ in class {cls.__name__}")
    if unsafe_hash or (frozen and not explicit):
        get = _getter(tuple(f.name for f in all_fields if (f.compare if f.hash is None else f.hash)))
        cls.__hash__ = _method(cls, "__hash__", lambda self: hash(get(self)))  # type: ignore[method-assign]
    elif not frozen and not explicit:
        cls.__hash__ = None  # type: ignore[assignment]
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
        _add_frozen(cls, names, slots)


def _method(cls: type, name: str, fn: Any) -> Any:
    fn.__name__ = name
    fn.__qualname__ = f"{cls.__qualname__}.{name}"
    return fn


def _getter(names: tuple[str, ...]) -> Any:
    """The tuple of those fields of a record (what dataclass's methods
    compare and hash), read by one C call."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq_of(cls: type, get: Any) -> Any:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return get(self) == get(other)
        return NotImplemented

    return _method(cls, "__eq__", __eq__)


def _repr_of(cls: type, names: tuple[str, ...]) -> Any:
    def __repr__(self: Any) -> str:
        key = id(self)
        if key in _repr_guard:
            return "..."
        _repr_guard.add(key)
        try:
            shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
            return f"{self.__class__.__qualname__}({shown})"
        finally:
            _repr_guard.discard(key)

    return _method(cls, "__repr__", __repr__)


def _add_frozen(cls: type, names: tuple[str, ...], slots: bool) -> None:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    cls.__setattr__ = _method(cls, "__setattr__", __setattr__)  # type: ignore[method-assign]
    cls.__delattr__ = _method(cls, "__delattr__", __delattr__)  # type: ignore[method-assign]
    if slots:  # pickle sets a slot's state by setattr, which refuses
        def __getstate__(self: Any) -> list:
            return [getattr(self, n) for n in names]

        def __setstate__(self: Any, state: list) -> None:
            for n, v in zip(names, state, strict=True):
                _setattr(self, n, v)

        cls.__getstate__ = _method(cls, "__getstate__", __getstate__)  # type: ignore[attr-defined]
        cls.__setstate__ = _method(cls, "__setstate__", __setstate__)  # type: ignore[attr-defined]


def _lazy_init(cls: type, all_fields: list[Field], frozen: bool, slots: bool) -> Any:
    """An ``__init__`` that compiles the class's own on its first call and
    puts it in its place: the one method whose speed matters (a tree's
    analysis makes some 10^5 terms) is compiled, and only for the classes a
    run makes (a run makes about half of them)."""
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        real = _compile_init(cls, all_fields, frozen, slots)
        cls.__init__ = real  # type: ignore[misc]
        real(self, *args, **kwargs)

    return _method(cls, "__init__", __init__)


def _compile_init(cls: type, all_fields: list[Field], frozen: bool, slots: bool) -> Any:
    env: dict[str, Any] = {"_HAS_FACTORY": _HAS_FACTORY, "_setattr": _setattr,
                           "__name__": cls.__module__}
    params = ["self"]
    body: list[str] = []
    for f in all_fields:
        dflt = f"__dflt_{f.name}"
        if f.default_factory is not MISSING:
            env[dflt] = f.default_factory
            if f.init:
                params.append(f"{f.name}=_HAS_FACTORY")
                value = f"{dflt}() if {f.name} is _HAS_FACTORY else {f.name}"
            else:
                value = f"{dflt}()"
        elif f.init:
            if f.default is not MISSING:
                env[dflt] = f.default
                params.append(f"{f.name}={dflt}")
            else:
                params.append(f.name)
            value = f.name
        elif slots and f.default is not MISSING:
            env[dflt] = f.default
            value = dflt
        else:
            continue
        body.append(f"  _setattr(self, {f.name!r}, {value})" if frozen else f"  self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("  self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + "\n".join(body or ["  pass"])
    # the method reads only ``env`` (and builtins): it is its globals
    ns: dict[str, Any] = {}
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), env, ns)
    return _method(cls, "__init__", ns["__init__"])


def _check_order(cls: type, all_fields: list[Field]) -> None:
    """A field without a default after one with: refused when the class is
    made (as dataclass does), not on its first use."""
    seen_default = False
    for f in all_fields:
        if not f.init:
            continue
        has = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has


_setattr = object.__setattr__
_repr_guard: set[int] = set()  # the records whose repr is being made: a cycle shows '...'
