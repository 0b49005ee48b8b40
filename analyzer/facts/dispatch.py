"""Handlers found by node type, as pyflakes finds its ``IF(self, node)``.

A part of the executor defines one method per node type it knows, named as
the type in capitals (``IF_STATEMENT`` handles an ``if_statement``); its
``table`` maps each type to that method, and the part's ``__call__`` says
what every other type gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from analyzer.facts.executor import Executor


class Handlers:
    table: ClassVar[dict[str, Callable]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.table = {name.lower(): fn for name, fn in vars(cls).items()
                     if name.isupper() and callable(fn)}

    def __init__(self, ex: Executor) -> None:
        self.ex = ex
