"""One analysis of one image: parse -> role facts -> graph -> checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from analyzer.checks import RULES
from analyzer.cparse import ParsedFile, error_counts, parse_c
from analyzer.facts import Facts, collect
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


def analyze(image: Image) -> Analysis:
    parsed = [parse_c(path, text) for path, text in image.files.items()]
    headers = [parse_c(path, text) for path, text in image.headers.items()]
    model = build_model(headers + parsed)
    facts = collect(parsed, model)
    resolver = Resolver(facts)
    findings: list[Finding] = []
    for rule in RULES.values():
        findings.extend(rule.check(facts, resolver))
    return Analysis(
        files=list(image.files),
        model=model,
        facts=facts,
        findings=apply_suppressions(merge_findings(findings), image.files),
        parse_errors={pf.path: error_counts(pf) for pf in parsed},
    )
