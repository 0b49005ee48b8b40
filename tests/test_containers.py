"""Where pages live: the containers role loads read and role stores fill
(analyzer/containers/), on the fixtures and on Debian's real 6.12."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import analyze_c

from analyzer.analysis import analyze
from analyzer.containers import file_flows, flow_context, page_flow
from analyzer.containers.text import call_key, page_types_of
from analyzer.cparse import parse_c
from analyzer.resolve import store_via
from analyzer.sources import tree_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _containers(tree: Path):
    image = tree_image(tree)
    result = analyze(image)
    parsed = [parse_c(p, t) for p, t in image.files.items()]
    flow = page_flow(parsed, set(result.model.slots))

    def names(labels):  # an array's elements (mmu_page_hash[]) are its container
        return {label[1].removesuffix("[]") for label in labels}

    stores = {}
    for s in result.facts.stores:
        if s.slot == "role":
            stores.setdefault(s.func, set()).update(names(flow.of(s.func, store_via(s))))
    loads = {}
    for c in result.facts.compares:
        for v in (c.left, c.right):
            for o in v.origins():
                if o.kind == "load" and o.name == "role":
                    loads.setdefault(o.func, set()).update(names(flow.of(o.func, o.via)))
    return stores, loads


def test_page_structs_are_the_struct_pointers_whose_role_is_written():
    text = """
struct kvm_mmu_page *sp = alloc_page();
notstruct kvm_fake *fake;
struct kvm_root *root;
sp ->role = role;
root->role == role;
fake->role = role;
hlist_add_head (&sp->hash_link, head);
"""
    # root's role is compared, not written; `notstruct` declares nothing
    assert page_types_of([text], {"role", "root_role"}) == {"kvm_mmu_page"}
    assert page_types_of([text.replace("notstruct", "struct")], {"role"}) == {
        "kvm_mmu_page", "kvm_fake"}
    assert page_types_of([text.replace("root->role ==", "root->role =")], {"role"}) == {
        "kvm_mmu_page", "kvm_root"}
    assert page_types_of([text], set()) == set()


def test_a_function_s_flow_is_reused_after_an_edit_only_when_nothing_it_reads_changed():
    image = tree_image(FIXTURES / "modern" / "tree")
    slots = set(analyze(image).model.slots)
    path = "arch/x86/kvm/mmu/tdp_mmu.c"
    text = image.files[path]
    context = flow_context(image.files, {"tdp_mmu_init_sp", "kvm_tdp_mmu_alloc_root"}, slots)

    def flows(new: str, before=None):
        return file_flows([parse_c(path, new)], context, slots, before)[path]

    base = flows(text)
    parts = {k.split(":")[0]: v for k, v in base.functions.items()}
    # an edit in one function: the others' flows are taken as they were
    edited = text.replace("sp->role = role;", "sp->role = role;\n\tsp->gfn = 0;")
    assert edited != text
    after = flows(edited, {path: base})
    assert after == flows(edited)
    again = {k.split(":")[0]: v for k, v in after.functions.items()}
    assert again["kvm_tdp_mmu_alloc_root"] is parts["kvm_tdp_mmu_alloc_root"]
    assert again["tdp_mmu_init_sp"] is not parts["tdp_mmu_init_sp"]
    # a new member name in the file may turn a global into a member: none is
    reader = text + "\nstatic void extra(struct kvm *kvm) { kvm->tdp_mmu_debug_checks = 0; }\n"
    fresh = flows(reader, {path: base})
    assert fresh == flows(reader)
    assert all(v is not parts.get(k.split(":")[0]) for k, v in fresh.functions.items())


def test_legacy_layout_pages_live_in_the_hash_and_are_read_back_from_it():
    stores, loads = _containers(FIXTURES / "legacy" / "tree")
    assert stores["kvm_mmu_get_page"] == {"mmu_page_hash"}
    assert loads["kvm_mmu_get_page"] == {"mmu_page_hash"}
    # root slots (root_hpa, prev_roots) hold pages made by kvm_mmu_get_page
    assert "mmu_page_hash" in loads["cached_root_available"]


def _page_flow(tree: Path):
    image = tree_image(tree)
    result = analyze(image)
    return page_flow([parse_c(p, t) for p, t in image.files.items()], set(result.model.slots))


def test_a_page_is_followed_out_of_the_call_that_made_it_only():
    # kvm_mmu_get_page makes roots (mmu_alloc_shadow_roots puts them into
    # root_hpa) and children (__direct_map links them into a parent spte):
    # a root lookup reads only the pages of the first call
    flow = _page_flow(FIXTURES / "legacy" / "tree")
    roots = set(flow.pointers[("cached_root_available", "page_header(root.hpa)")])
    hash_lookup = set(flow.pointers[("kvm_mmu_get_page", "sp")])

    def reaches(caller: str, targets: set) -> bool | None:
        return flow.made_reaches("kvm_mmu_get_page", "sp", ((caller, "kvm_mmu_get_page"),), targets)

    assert reaches("mmu_alloc_shadow_roots", roots) is True
    assert reaches("mmu_alloc_direct_roots", roots) is True
    assert reaches("__direct_map", roots) is False
    # every page goes into the hash, which the lookup in the same function iterates
    assert reaches("__direct_map", hash_lookup) is True
    # past the end of the chain a page goes back to every caller
    assert flow.made_reaches("kvm_mmu_get_page", "sp", (), roots) is True


def test_a_page_passed_in_is_followed_back_to_the_caller_that_made_it():
    # tdp_mmu_init_sp writes the role of a page its caller made: the root
    # kvm_tdp_mmu_alloc_root puts into tdp_mmu_roots and root.hpa, or the
    # child kvm_tdp_mmu_map links into a parent spte (through
    # tdp_mmu_init_child_sp, whose own parameter it is)
    flow = _page_flow(FIXTURES / "modern" / "tree")
    roots = set(flow.pointers[("kvm_tdp_mmu_alloc_root", "root")])

    def reaches(*callers: str) -> bool | None:
        chain, callee = [], "tdp_mmu_init_sp"
        for caller in callers:
            chain.append((caller, callee))
            callee = caller
        return flow.made_reaches("tdp_mmu_init_sp", "sp", tuple(chain), roots)

    assert reaches("kvm_tdp_mmu_alloc_root") is True
    # the chain ends where no caller binds the role: every caller past it
    assert reaches("tdp_mmu_init_child_sp") is False
    assert reaches("tdp_mmu_init_child_sp", "kvm_tdp_mmu_map") is False
    # a caller the chain does not name passes no page
    assert reaches("kvm_tdp_mmu_map") is None
    # no chain: every caller, the root's among them
    assert reaches() is True


def test_modern_fixture_keeps_tdp_mmu_roots_apart_from_the_hash():
    stores, loads = _containers(FIXTURES / "modern" / "tree")
    assert "tdp_mmu_roots" not in stores["kvm_mmu_alloc_shadow_page"]
    assert "mmu_page_hash" not in stores["tdp_mmu_init_sp"]
    assert loads["kvm_tdp_mmu_alloc_root"] == {"tdp_mmu_roots"}


@pytest.mark.real_kernel
def test_debian_6_12_containers(linux_6_12: Path):
    stores, loads = _containers(linux_6_12)
    shadow, tdp = stores["kvm_mmu_alloc_shadow_page"], stores["tdp_mmu_init_sp"]
    assert "mmu_page_hash" in shadow and "tdp_mmu_roots" not in shadow
    assert tdp == {"tdp_mmu_roots"}
    assert loads["kvm_mmu_find_shadow_page"] == {"mmu_page_hash"}
    assert loads["kvm_sync_page_check"] == {"mmu_page_hash"}
    assert loads["kvm_tdp_mmu_alloc_root"] == {"tdp_mmu_roots"}
    # a root slot holds shadow roots and TDP MMU roots alike
    assert {"mmu_page_hash", "tdp_mmu_roots"} <= loads["is_root_usable"]


@pytest.mark.real_kernel
def test_efer_nx_forced_on_shadow_pages_is_one_finding_at_the_injected_line(linux_6_12: Path):
    """Shadow pages never enter tdp_mmu_roots: the TDP MMU's root lookup
    cannot miss because of them; the shadow-page hash and the root slots
    can (issue 10)."""
    import difflib

    from analyzer.patch import read_patches
    from analyzer.runner import run_check

    path = "arch/x86/kvm/mmu/mmu.c"
    text = (linux_6_12 / path).read_text()
    old = "\tsp->gfn = gfn;\n\tsp->role = role;\n"
    assert text.count(old) == 1
    mutated = text.replace(old, "\tsp->gfn = gfn;\n\trole.efer_nx = 0;\n\tsp->role = role;\n")
    diff = "".join(difflib.unified_diff(text.splitlines(keepends=True),
                                        mutated.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))
    (res,) = run_check(read_patches(diff), linux_6_12).patches
    # one finding, at the injected line, naming the lookups that miss
    (f,) = [f for f in res.delta.introduced if f.severity != "note"]
    injected = mutated.splitlines().index("\trole.efer_nx = 0;") + 1
    assert (f.file, f.line, f.field, f.function) == (path, injected, "efer_nx",
                                                     "kvm_mmu_alloc_shadow_page")
    # the sync check compares unsync pages with root_role (efer_nx of the
    # guest): with EFER.NX set, every one of them fails it
    assert "kvm_mmu_find_shadow_page" in f.message
    assert "(is_root_usable, kvm_sync_page_check)" in f.message
    compares = {st.function for st in f.related if st.kind == "compare"}
    assert {"kvm_mmu_find_shadow_page", "is_root_usable"} <= compares
    # nothing in the TDP MMU: no finding there, no TDP MMU lookup named
    assert not any(g.file.endswith("tdp_mmu.c") for g in res.delta.introduced)
    assert "kvm_tdp_mmu" not in f.message


# A page function of one store: the role given, the page put into the hash.
GET_PAGE = """
static struct kvm_mmu_page *get_page(struct kvm *kvm, int gfn, union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp = alloc_page(kvm);

	sp->role = role;
	hlist_add_head(&sp->hash_link, &kvm->arch.mmu_page_hash[gfn]);
	return sp;
}
"""

ROOT_INFO = """
struct kvm_mmu_root_info { unsigned long hpa; };
""" + GET_PAGE + """
void alloc_root(struct kvm_vcpu *vcpu, union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp = get_page(vcpu->kvm, 0, role);

	vcpu->arch.mmu->root_hpa = __pa(sp->spt);
}

static bool usable(struct kvm_mmu_root_info *root, union kvm_mmu_page_role role)
{
	return to_shadow_page(root->hpa)->role.word == role.word;
}

bool cached(struct kvm_vcpu *vcpu, union kvm_mmu_page_role role)
{
	struct kvm_mmu_root_info root;

	root.hpa = vcpu->arch.mmu->root_hpa;
	return usable(&root, role);
}
"""


def test_a_member_read_through_a_struct_parameter_holds_what_the_callers_struct_holds():
    # usable(&root, ...) reads root->hpa: the hpa cached() copied from
    # root_hpa, where alloc_root put a page of the hash
    from helpers import HEADER

    result = analyze_c(ROOT_INFO)
    flow = page_flow([parse_c("mmu.c", HEADER + ROOT_INFO)], set(result.model.slots))
    assert ("field", "mmu_page_hash[]") in flow.of("usable", "to_shadow_page(root->hpa)")
    targets = set(flow.pointers[("usable", "to_shadow_page(root->hpa)")])
    assert flow.made_reaches("get_page", "sp", (("alloc_root", "get_page"),), targets) is True


TWO_ROOTS = GET_PAGE + """
void alloc_roots(struct kvm_vcpu *vcpu, union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp;
	unsigned long root;
	int i;

	if (vcpu->arch.mmu->root_level >= 4) {
		sp = get_page(vcpu->kvm, 0, role);
		root = __pa(sp->spt);
		vcpu->arch.mmu->root_hpa = root;
		return;
	}
	for (i = 0; i < 4; ++i) {
		sp = get_page(vcpu->kvm, i, role);
		root = __pa(sp->spt);
		vcpu->arch.mmu->pae_root[i] = root;
	}
	vcpu->arch.mmu->root_hpa = __pa(vcpu->arch.mmu->pae_root);
}

bool cached(struct kvm_vcpu *vcpu, union kvm_mmu_page_role role)
{
	return to_shadow_page(vcpu->arch.mmu->root_hpa)->role.word == role.word;
}
"""


def test_each_definition_of_a_shared_local_goes_where_its_own_uses_put_it():
    # sp and root hold the 64-bit root, then the PAE roots: the first goes
    # into root_hpa, the others into pae_root[], whose address (not one of
    # its elements) is what root_hpa gets after the loop
    from helpers import HEADER

    result = analyze_c(TWO_ROOTS)
    flow = page_flow([parse_c("mmu.c", HEADER + TWO_ROOTS)], set(result.model.slots))
    targets = set(flow.pointers[("cached", "to_shadow_page(vcpu->arch.mmu->root_hpa)")])

    def reaches(call: str) -> bool | None:
        return flow.made_reaches("get_page", "sp", (("alloc_roots", "get_page", call_key(call)),),
                                 targets)

    assert reaches("get_page(vcpu->kvm, 0, role)") is True
    assert reaches("get_page(vcpu->kvm, i, role)") is False
    # a chain that does not say which call: either
    assert flow.made_reaches("get_page", "sp", (("alloc_roots", "get_page"),), targets) is True


def test_a_write_to_a_member_of_a_local_role_moves_no_page():
    # an override in mmu_alloc_root (role.guest_mode = 0 when direct) leaves
    # the page flow as it was: only the sites that read the function are
    # judged again after such a patch
    image = tree_image(FIXTURES / "modern" / "tree")
    slots = set(analyze(image).model.slots)
    path = "arch/x86/kvm/mmu/mmu.c"
    text = image.files[path]
    context = flow_context(image.files, set(analyze(image).facts.functions), slots)
    old = "\trole.level = level;\n\trole.quadrant = quadrant;\n"
    assert text.count(old) == 1
    edited = text.replace(old, old + "\tif (role.direct)\n\t\trole.guest_mode = 0;\n")
    before = file_flows([parse_c(path, text)], context, slots)[path]
    after = file_flows([parse_c(path, edited)], context, slots)[path]
    assert after.same_flow(before)
