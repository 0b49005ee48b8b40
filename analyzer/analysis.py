"""One analysis of one image: parse -> role facts -> graph -> checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from analyzer.checks import RULES
from analyzer.cparse import ParsedFile, error_counts, parse_c
from analyzer.facts import Facts, collect, collect_incremental
from analyzer.findings import Finding, merge_findings
from analyzer.resolve import Resolver
from analyzer.roles import RoleModel, default_model, model_from_parsed
from analyzer.sources import Image
from analyzer.suppress import apply_suppressions


@dataclass
class Analysis:
    files: list[str]
    model: RoleModel
    facts: Facts
    findings: list[Finding]
    parse_errors: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> function -> errors
    parsed: list[str] = field(default_factory=list)  # files parsed for this analysis

    @cached_property
    def graph(self):
        """The networkx role-flow graph; built on first use (checks resolve
        values from the facts directly, so check and scan need not import
        networkx unless a picture or a path check is asked for)."""
        from analyzer.graph import build

        return build(self.facts)

    def role_flow_errors(self) -> dict[str, int]:
        """ERROR/MISSING nodes inside functions that take part in role flow."""
        out: dict[str, int] = {}
        for name, info in self.facts.functions.items():
            if info.role_flow:
                n = self.parse_errors.get(info.file, {}).get(name, 0)
                if n:
                    out[name] = n
        return out


def build_model(parsed: list[ParsedFile]) -> RoleModel:
    """Role types from the headers and sources, completed by the defaults."""
    model = model_from_parsed(parsed)
    defaults = default_model()
    if model is None:
        return defaults
    for slot, rtype in defaults.slots.items():
        if rtype in model.types:
            model.slots.setdefault(slot, rtype)
    return model


def analyze_cached(image: Image) -> Analysis:
    """``analyze``, through the on-disk cache (analyzer.cache): a tree
    checked again, or the base of the next patch, is read back at once."""
    from analyzer import cache

    key = cache.image_key(image.files, image.headers)
    found = cache.load(key)
    if isinstance(found, Analysis):
        return found
    result = analyze(image)
    result.__dict__.pop("graph", None)  # built on demand, never stored
    cache.store(key, result)
    return result


def analyze(image: Image, base: Analysis | None = None, base_image: Image | None = None) -> Analysis:
    """Analyze an image. Given the analysis of another image (``base`` of
    ``base_image``, typically the tree before a patch), only the files that
    differ are parsed and executed again, when that gives the same result."""
    if base is not None and base_image is not None:
        done = _incremental(image, base, base_image)
        if done is not None:
            return done
    parsed = [_parse(path, text) for path, text in image.files.items()]
    headers = [_parse(path, text) for path, text in image.headers.items()]
    model = build_model(headers + parsed)
    facts = collect(parsed, model)
    return _finish(image, model, facts, {pf.path: error_counts(pf) for pf in parsed},
                   [*image.headers, *image.files])


def _parse(path: str, text: str, old: str | None = None) -> ParsedFile:
    """Parse, with the neutralized text from the cache when this text was
    seen before, or made from the old text's by ``neutralize_edit``."""
    from analyzer import cache
    from analyzer.neutralize import neutralize, neutralize_edit

    key = cache.text_key(text)
    neutral = cache.load_text(key)
    if neutral is None or len(neutral) != len(text):
        old_neutral = cache.load_text(cache.text_key(old)) if old is not None else None
        if old is not None and old_neutral is not None:
            neutral = neutralize_edit(old, old_neutral, text)
        else:
            neutral = neutralize(text)
        cache.store_text(key, neutral)
    return parse_c(path, text, neutral=neutral)


def _finish(image: Image, model: RoleModel, facts: Facts, parse_errors: dict,
            parsed: list[str]) -> Analysis:
    resolver = Resolver(facts)
    findings: list[Finding] = []
    for rule in RULES.values():
        findings.extend(rule.check(facts, resolver))
    return Analysis(
        files=list(image.files),
        model=model,
        facts=facts,
        findings=apply_suppressions(merge_findings(findings), image.files),
        parse_errors=parse_errors,
        parsed=parsed,
    )


_UNION_DEF = re.compile(r"\bunion\s+\w+\s*\{")


def _union_defs(text: str) -> list[str]:
    """The text of every union definition (the role model is read from them)."""
    out = []
    for m in _UNION_DEF.finditer(text):
        depth, k = 0, m.end() - 1
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            if depth == 0:
                break
            k += 1
        out.append(text[m.start():k + 1])
    return out


def _incremental(image: Image, base: Analysis, base_image: Image) -> Analysis | None:
    if image.headers != base_image.headers or list(image.files) != list(base_image.files):
        return None
    changed = [p for p, text in image.files.items() if base_image.files[p] != text]
    if not changed:
        return base
    if any(_union_defs(image.files[p]) != _union_defs(base_image.files[p]) for p in changed):
        return None  # the role model may change
    parsed = [_parse(p, image.files[p], base_image.files[p]) for p in changed]
    facts = collect_incremental(parsed, base.facts)
    if facts is None:
        return None
    parse_errors = dict(base.parse_errors)
    parse_errors.update((pf.path, error_counts(pf)) for pf in parsed)
    return _finish(image, base.model, facts, parse_errors, changed)
