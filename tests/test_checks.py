"""Rules as records: a rule's check declares its own sites, messages are
records with a fixed text, and listing the rules loads no check."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from helpers import FIXTURES

from analyzer import checks
from analyzer.analysis import analyze
from analyzer.checks import Check, Rule
from analyzer.checks.messages import (
    ForcedUnderUndecidedGuard,
    MissesWhen,
    NeverFinds,
    Undecided,
)
from analyzer.findings import Finding
from analyzer.sources import patched_image, tree_image


def test_messages_keep_their_text():
    # a lookup that misses in every state, one that misses in some: the seed's
    assert str(NeverFinds("efer_nx", 0, "stored", True, (), 1, "lookup",
                          (("kvm_mmu_find_shadow_page", None),
                           ("is_root_usable", "tdp_mmu_enabled == 0")),
                          ("kvm_mmu_alloc_shadow_page",))) == (
        "role field 'efer_nx' is forced to 0 on the stored side but 1 on the lookup side: "
        "kvm_mmu_find_shadow_page never finds what kvm_mmu_alloc_shadow_page stores; "
        "lookups miss whenever tdp_mmu_enabled == 0 (is_root_usable)")
    assert str(MissesWhen("cr4_pae", 0, "stored", True, (("direct", 1),), "'!!is_pae(vcpu)'",
                          "lookup", (("cached_root_available", "is_pae(vcpu) != 0"),),
                          ("kvm_mmu_get_page",))) == (
        "role field 'cr4_pae' is forced to 0 on the stored side when direct=1 but computed as "
        "'!!is_pae(vcpu)' on the lookup side: lookups miss whenever is_pae(vcpu) != 0 "
        "(cached_root_available)")
    assert str(NeverFinds("access", 2, "lookup", False, (), 7, "stored",
                          (("a", None), ("b", None)), ("x", "y"))) == (
        "role field 'access' is 2 on the lookup side but 7 on the stored side: "
        "a and b never find what x and y store")
    assert str(ForcedUnderUndecidedGuard("nxe", 0, "left", (), "is_nx(vcpu)", "right")) == (
        "role field 'nxe' is forced to 0 on the left side but computed as 'is_nx(vcpu)' on the "
        "right side, where the guard cannot be decided")
    assert str(Undecided("smm", "'a'", "stored", "'b'", "lookup")) == (
        "role field 'smm' is 'a' on the stored side and 'b' on the lookup side: "
        "equal or not cannot be decided")
    assert (NeverFinds.rule, NeverFinds.severity) == ("role-mismatch", "error")
    assert (MissesWhen.rule, MissesWhen.severity) == ("role-mismatch", "warning")
    assert (Undecided.rule, Undecided.severity) == ("role-mismatch-unknown", "note")


def test_listing_the_rules_loads_no_check():
    code = ("import sys; from analyzer.checks import RULE_IDS, RULES; "
            "print(RULE_IDS, 'analyzer.checks.role_mismatch' in sys.modules, 'analyzer.facts' in sys.modules); "
            "RULES['role-mismatch'].load(); print('analyzer.checks.role_mismatch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "['role-mismatch', 'role-mismatch-unknown', 'role-unchecked-reuse', 'role-incomplete', "
        "'suppression-without-reason', 'suppression-unknown'] False False", "True"]


STORE_RULE = "test-store"


def _at_store(store, facts, resolver) -> list[Finding]:
    return [Finding(STORE_RULE, "warning", store.slot, "a store", store.step.file, store.step.line,
                    store.step.col, store.func)]


STORES = Check(sites=lambda facts: facts.stores, find=_at_store)


def test_a_rule_declares_its_own_sites(monkeypatch):
    image = tree_image(FIXTURES / "legacy" / "tree")
    plain = analyze(image)
    monkeypatch.setitem(checks.RULES, STORE_RULE, Rule(STORE_RULE, f"{__name__}:STORES"))
    result = analyze(image)
    stores = result.facts.stores
    assert stores
    per_func = Counter(s.func for s in stores)
    assert sorted(k for k in result.by_site if k[0] == STORE_RULE) == sorted(
        (STORE_RULE, func, n) for func, count in per_func.items() for n in range(count))
    assert {(f.file, f.line) for f in result.findings if f.rule == STORE_RULE} <= {
        (s.step.file, s.step.line) for s in stores}
    assert [f for f in result.findings if f.rule != STORE_RULE] == plain.findings
    # after an edit that only moves lines, the sites of both rules are reused, moved
    path = "arch/x86/kvm/mmu.c"
    edited = patched_image(image, {path: "/* moved */\n" + image.files[path]}, lambda p: None)
    again = analyze(edited, base=result, base_image=image)
    assert again.reused == len(again.by_site) == len(result.by_site)
    assert sorted((f.line - 1, f.field) for f in again.findings if f.rule == STORE_RULE and f.file == path) \
        == sorted((f.line, f.field) for f in result.findings if f.rule == STORE_RULE and f.file == path)
