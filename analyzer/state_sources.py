"""The files role-incomplete reads, parsed when first needed.

``Sources`` finds function definitions for the interpreter
(``analyzer.state_reads``): in the MMU sources and headers, in the optional
context headers (``x86.h``, ``cpuid.h``, ``kvm_cache_regs.h``), and among
the functions ``BUILD_*`` macros generate (expanded and parsed on the line
of their use). The context ``.c`` files (``cpuid.c``, ``x86.c``) are read as
text only (``analyzer.kvmtext``): which ``vcpu->arch`` members a function
reads and writes, and whether it invalidates a cached role.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from analyzer import kvmtext
from analyzer.cparse import FunctionDef, Node, ParsedFile, functions

if TYPE_CHECKING:
    from analyzer.state_reads.tree import Syn


class Sources:
    """The files ``skipped`` may read, parsed when first needed: the MMU
    sources and headers, the optional context headers, and functions that
    ``BUILD_*`` macros generate; the context ``.c`` files are read as text
    only (``kvmtext``)."""

    def __init__(self, parsed_files: dict[str, str], parse: Callable[[str, str], ParsedFile],
                 parsed: dict[str, ParsedFile], text_only: TextIndex, slots: tuple[str, ...],
                 whole: frozenset[str] = frozenset()):
        self.texts = parsed_files  # path -> text, in lookup order
        self.parse = parse
        self.parsed = dict(parsed)
        # files known from their whole tree, as the parsed ones, though not
        # parsed whole yet (an edited function was parsed alone): parsed
        # when first needed
        self.whole = whole
        self.text_only = text_only
        self.slots = slots
        self._where: dict[str, str] | None = None
        self._defs: dict[str, tuple[ParsedFile, FunctionDef]] = {}
        self._generated: dict[str, tuple[ParsedFile, FunctionDef]] | None = None
        self.numbers: dict[str, int] = {}
        self._globals: dict[str, Node] | None = None
        # id(FunctionDef) -> (it, its body as the interpreter reads it)
        self.bodies: dict[int, tuple[FunctionDef, Syn]] = {}

    def _index(self) -> dict[str, list[str]]:
        """Function name -> the files that may define it (the parsed ones
        know; the others are guessed from their layout, cheaply)."""
        if self._where is None:
            where: dict[str, list[str]] = {}
            for path, text in self.texts.items():
                if path in self.parsed or path in self.whole:
                    names = [fd.name for fd in functions(self.file(path))]
                else:
                    names = kvmtext.defined_names(text)
                for name in names:
                    where.setdefault(name, []).append(path)
                self.numbers.update(_numeric_defines(text))
            self._where = where
        return self._where

    def defines(self, name: str) -> bool:
        return name in self._index() or name in self.generated()

    def file(self, path: str) -> ParsedFile:
        pf = self.parsed.get(path)
        if pf is None:
            pf = self.parsed[path] = self.parse(path, self.texts[path])
        return pf

    def lookup(self, name: str) -> tuple[ParsedFile, FunctionDef] | None:
        got = self._defs.get(name)
        if got is not None:
            return got
        for path in self._index().get(name, []):
            pf = self.file(path)
            for fd in functions(pf):
                if fd.name == name:
                    self._defs[name] = (pf, fd)
                    return pf, fd
        gen = self.generated().get(name)
        if gen is not None:
            self._defs[name] = gen
        return gen

    def generated(self) -> dict[str, tuple[ParsedFile, FunctionDef]]:
        """Functions defined by macros (``BUILD_MMU_ROLE_ACCESSOR(ext, cr4,
        pke);``), expanded and parsed, placed on the line of their use."""
        if self._generated is None:
            self._generated = {}
            for path, text in self.texts.items():
                if "#define" in text and "##" in text:
                    for name, pf, fd in _expand_generators(path, text, self.parse):
                        self._generated.setdefault(name, (pf, fd))
        return self._generated

    def summary(self, name: str) -> kvmtext.TextFunction | None:
        """A function of a ``.c`` file, as text (one not parsed: of ``cpuid.c``
        or ``x86.c``)."""
        got = self.text_only.named(name)
        return got[0] if got else None

    def role_global(self, name: str) -> tuple[ParsedFile, Node] | None:
        """A file-scope initialized declaration (a role mask constant)."""
        if self._globals is None:
            self._globals = {}
            for path in self.texts:
                if path not in self.parsed:
                    continue
                pf = self.parsed[path]
                for node in pf.root.named_children:
                    if node.type != "declaration":
                        continue
                    for decl in node.children_by_field_name("declarator"):
                        if decl.type == "init_declarator":
                            nm = decl.child_by_field_name("declarator")
                            if nm is not None and nm.type == "identifier":
                                self._globals.setdefault(pf.text_of(nm), (pf, node))
        return self._globals.get(name)  # type: ignore[return-value]


_DEFINE_NUM = re.compile(r"^#define\s+([A-Z_][A-Z0-9_]*)\s+\(?(-?\d+|0x[0-9a-fA-F]+)[uUlL]*\)?\s*$", re.M)


@lru_cache(maxsize=64)
def _numeric_defines(text: str) -> dict[str, int]:
    """``#define NAME number`` of a text, once per text (callers copy it)."""
    return {m.group(1): int(m.group(2), 0) for m in _DEFINE_NUM.finditer(text)}


_GENERATOR = re.compile(r"^#define\s+(\w+)\(([^)]*)\)\s*\\\n((?:.*\\\n)*.*)$", re.M)


def _expand_generators(path: str, text: str, parse) -> list[tuple[str, ParsedFile, FunctionDef]]:
    """``#define BUILD_X(a, b) static inline ... f_##a##_##b(...) { ... }``
    and each ``BUILD_X(u, v);`` line: the functions they make."""
    out = []
    for m in _GENERATOR.finditer(text):
        name, params = m.group(1), [p.strip() for p in m.group(2).split(",")]
        body = m.group(3).replace("\\\n", " ")
        if "{" not in body or "(" not in body:
            continue
        for use in _uses(name, text):
            args = [a.strip() for a in use.group(1).split(",")]
            if len(args) != len(params):
                continue
            expanded = body
            for p, a in zip(params, args, strict=True):
                expanded = re.sub(rf"\b{re.escape(p)}\b", a, expanded)
            expanded = re.sub(r"\s*##\s*", "", expanded)
            line = text.count("\n", 0, use.start())
            src = "\n" * line + " ".join(expanded.split()) + "\n"
            pf = parse(f"{path}", src)
            for fd in functions(pf):
                out.append((fd.name, pf, fd))
    return out


def _uses(name: str, text: str) -> list[re.Match]:
    """Each ``name(args);`` that starts a line, as the match of the
    ``name(args);`` pattern there: what a multiline ``^`` search finds, but
    looked for only where ``name(`` is (that search tries every line of
    the file, once per macro)."""
    pattern = re.compile(rf"{re.escape(name)}\(([^)]*)\);")
    needle = name + "("
    out: list[re.Match] = []
    end = 0
    at = text.find(needle)
    while at != -1:
        if at >= end and (at == 0 or text[at - 1] == "\n"):
            m = pattern.match(text, at)
            if m is not None:
                out.append(m)
                end = m.end()
        at = text.find(needle, at + 1)
    return out



def fnptr_members(sources: Sources) -> frozenset:
    """Members of ``struct kvm_mmu`` declared as function pointers."""
    out: set[str] = set()
    for text in sources.texts.values():
        if "struct kvm_mmu {" not in text:
            continue
        body = text[text.index("struct kvm_mmu {"):]
        body = body[:body.find("\n};")]
        out.update(re.findall(r"\(\s*\*\s*(\w+)\s*\)\s*\(", body))
    return frozenset(out)


class StateView:
    """What role-incomplete reads of one image: its files as ``Sources``,
    the text of every ``.c`` file for writers and invalidations, and the
    interpretations already made. Built with the analysis, used by its
    checks while the trees are in memory, and dropped once its findings
    are made (analysis._finish): a stored analysis holds none of it."""

    def __init__(self, files: dict[str, str], headers: dict[str, str], context: dict[str, str],
                 parsed: dict[str, ParsedFile], parse: Callable[[str, str], ParsedFile],
                 slots: tuple[str, ...], whole: frozenset[str] = frozenset()) -> None:
        texts = {**files, **headers, **{p: t for p, t in context.items() if p.endswith(".h")}}
        self.context = context
        self.slots = slots
        self.text = TextIndex({**{p: t for p, t in files.items() if p.endswith(".c")},
                               **{p: t for p, t in context.items() if p.endswith(".c")}}, slots)
        self.sources = Sources(texts, parse, parsed, self.text, slots, whole)
        self.memo: dict = {}
        self._writers: dict[str, list[tuple[kvmtext.TextFunction, kvmtext.Write]]] = {}

    def writers(self, member: str) -> list[tuple[kvmtext.TextFunction, kvmtext.Write]]:
        """The statements that write ``vcpu->arch.<member>``, with their
        functions (found once per member: the sites ask for the same ones)."""
        got = self._writers.get(member)
        if got is None:
            out = [(fn, w) for fn in self.text.containing(f"arch.{member}")
                   for w in fn.writes if w.member == member]
            got = self._writers[member] = sorted(out, key=lambda fw: (fw[0].file, fw[1].line))
        return list(got)


class TextIndex:
    """``.c`` files read by layout (``kvmtext.TextFile``), each when first
    needed: functions by name, and those whose body has a given text."""

    def __init__(self, texts: dict[str, str], slots: tuple[str, ...]) -> None:
        self.texts = texts
        self.slots = slots
        self._files: dict[str, kvmtext.TextFile] = {}
        self._defines: dict[str, set[str]] | None = None  # path -> names it may define

    def file(self, path: str) -> kvmtext.TextFile:
        got = self._files.get(path)
        if got is None:
            got = self._files[path] = kvmtext.text_file(path, self.texts[path], self.slots)
        return got

    def named(self, name: str) -> list[kvmtext.TextFunction]:
        if self._defines is None:
            self._defines = {path: kvmtext.defined_names(text) for path, text in self.texts.items()}
        return [self.file(path).function(k) for path, names in self._defines.items() if name in names
                for k, span in enumerate(self.file(path).spans) if span[0] == name]

    def containing(self, needle: str) -> list[kvmtext.TextFunction]:
        return [fn for path, text in self.texts.items() if needle in text
                for fn in self.file(path).containing(needle)]
