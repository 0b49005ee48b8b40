"""Analyses as JSON, for the on-disk cache: data that cannot execute.

``encode`` writes an ``Analysis`` (its facts, terms, findings and steps) as
compact JSON; ``decode`` reads it back and builds only the records of
``REGISTRY``, through their constructors. Every field is read by its type
annotation, so a value of the wrong type, an unknown record or field, or a
reference to nothing raises ``Malformed``; the cache takes that as a miss.

The JSON is ``[MAGIC, classes, groups]``. ``classes`` lists ``[name,
[field, ...]]`` of each record type used. Objects are numbered in the order
the groups give them; a group is ``[class, count, column, ...]``, ``count``
objects of one record type with one list per field, and comes after every
object its objects refer to (so a reference is always to an earlier object:
no cycles, and the last object is the analysis). Reading a group checks
each column at once and builds its objects in one ``map`` of the
constructor: most of an analysis is small records (steps, terms,
parameters), and a column costs little more than its constructor calls.

A field typed with a record or ``object`` (a term) holds an object's
number, so an object that several others share (a step, the role model) is
stored once and shared again after reading, as pickle kept it. Containers
follow their annotation (``list[X]``, ``dict[str, X]`` as objects, other
dicts as ``[[k, v], ...]``, tuples as lists). A value of a field typed
``tuple`` that holds only strings and ints (a flow node such as ``("var",
func, name)``, a dependency) is an object of the pseudo-class ``tuple``,
stored once (its group is ``[class, count, [[item, ...], ...]]``). Other
values without a precise annotation are tagged: a list is a tuple, ``{"o":
n}`` a term, ``{"k": n}`` the graph node of step n, ``{"l"|"f"|"s": [...]}``
a list, frozenset or set.

``schema`` holds the registry and the annotations, ``writing`` the
encoder, ``reading`` the decoder.
"""

from __future__ import annotations

from analyzer.analysis import Analysis
from analyzer.store.reading import decode
from analyzer.store.schema import MAGIC, PRECISE, RECORDS, REGISTRY, TERMS, Malformed
from analyzer.store.writing import encode

__all__ = ["MAGIC", "PRECISE", "RECORDS", "REGISTRY", "TERMS", "Analysis", "Malformed", "decode", "encode"]
