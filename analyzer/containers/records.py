"""The page flow's records: what one file's functions do with pointers,
and what every file's flow depends on beyond its own text."""

from __future__ import annotations

from analyzer.record import field, record

# Node ids: ("var", func, name), ("def", func, name, key) (one definition
# of a local, by the value of that text: text.call_key),
# ("ret", func), ("field", member),
# ("global", name). A label is a field or global node id.


@record
class FileFlow:
    """What one function, or one file's functions, do with pointers (data
    only, so an analysis after a patch recomputes it for the functions a
    patch changed alone)."""

    edges: list[tuple[tuple, tuple]] = field(default_factory=list)  # (from node, to node)
    # (page node, container node): the page is put into the container
    inserts: list[tuple[tuple, tuple]] = field(default_factory=list)
    # (func, pointer text) -> node the pointer's value is, for role loads and stores
    pointers: dict[tuple[str, str], list[tuple]] = field(default_factory=dict)
    params: dict[str, list[str]] = field(default_factory=dict)  # func -> parameter names
    heads: set[tuple] = field(default_factory=set)  # nodes used as list heads
    # a file's: each function's flow, in the file's order, keyed by
    # ``function_key`` (its name and a digest of its text)
    functions: dict[str, FileFlow] = field(default_factory=dict)
    # a file's: a digest of what else in the file its functions' flows read
    # (the names used as struct members)
    context: str = ""

    def same_flow(self, other: FileFlow | None) -> bool:
        """Whether ``other`` moves pointers as this one does (what the
        functions are keyed by aside: a function edited without changing
        its flow leaves the page flow as it was). Edges and insertions are
        compared as the sets the solver makes of them: two statements
        swapped record them in another order, and move no pointer
        otherwise."""
        if other is None or len(self.functions) != len(other.functions):
            return False
        # a function the edit left alone keeps its flow object (``file_flow``)
        return self._same_part(other) and all(
            a is b or a._same_part(b)
            for a, b in zip(self.functions.values(), other.functions.values(), strict=True))

    def _same_part(self, other: FileFlow) -> bool:
        return (set(self.edges) == set(other.edges) and set(self.inserts) == set(other.inserts)
                and self.pointers == other.pointers and self.params == other.params
                and self.heads == other.heads)


@record(frozen=True)
class FlowContext:
    """What every file's flow depends on beyond its own text: the functions
    the files define, their iterator macros and the page structs."""

    defined: frozenset[str]
    macros: tuple
    page_types: frozenset[str]
