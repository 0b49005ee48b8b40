"""The role-flow analysis on small C snippets: what it must find and what it
must not. Each snippet is a few lines of our own mirroring a kernel shape."""

from helpers import analyze_c, assert_findings, decided

# A producer, a page allocator that copies the context role and overrides
# fields, a lookup that computes the role afresh: the seed's skeleton.
SKELETON = """
static union kvm_mmu_role calc_common(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_role role = {0};

	role.base.access = 7;
	role.base.nxe = !!is_nx(vcpu);
	%(common)s
	role.base.smm = is_smm(vcpu);
	return role;
}

static union kvm_mmu_role calc_tdp_role(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_role role = calc_common(vcpu);

	role.base.level = tdp_level(vcpu);
	role.base.direct = %(direct)s;
	return role;
}

static void init_tdp(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_role new_role = calc_tdp_role(vcpu);

	%(mask)s
	vcpu->arch.mmu->mmu_role.as_u64 = new_role.as_u64;
}

static struct kvm_mmu_page *get_page(struct kvm_vcpu *vcpu, int gfn, unsigned level,
				     int direct, unsigned access)
{
	union kvm_mmu_page_role role;
	struct kvm_mmu_page *sp;

	role = vcpu->arch.mmu->mmu_role.base;
	role.level = level;
	role.direct = direct;
	%(filter)s
	role.access = access;
	for (sp = first(gfn); sp; sp = next(sp))
		if (sp->role.word == role.word)
			return sp;
	sp = alloc_page(vcpu);
	sp->role = role;
	return sp;
}

static int alloc_direct_root(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = get_page(vcpu, 0, root_level(vcpu), 1, 7);
	return sp != 0;
}

static union kvm_mmu_page_role calc_root_role(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_role role = calc_tdp_role(vcpu);
	return role.base;
}

static bool root_cached(struct kvm_vcpu *vcpu, struct kvm_mmu_page *root,
			union kvm_mmu_page_role want)
{
	return want.word == root->role.word;
}

void new_cr3(struct kvm_vcpu *vcpu, struct kvm_mmu_page *root)
{
	root_cached(vcpu, root, calc_root_role(vcpu));
}
"""

BASE = {
    "common": "role.base.cr4_pae = !!is_pae(vcpu);",
    "direct": "true",
    "mask": "",
    "filter": "if (role.direct)\n\t\trole.cr4_pae = 0;",
}


def src(**over: str) -> str:
    return SKELETON % {**BASE, **over}


def test_seed_shape_guarded_constant_against_computed_value():
    # located where the stored value diverges (the filter), naming the lookup
    assert_findings(src(), "role-mismatch:cr4_pae@get_page")
    (f,) = decided(analyze_c(src()).findings)
    assert f.message.endswith("lookups miss whenever is_pae(vcpu) != 0 (root_cached)")


def test_finding_is_a_warning_at_the_override_with_both_sides_traced():
    (f,) = decided(analyze_c(src()).findings)
    assert (f.severity, f.field, f.function) == ("warning", "cr4_pae", "get_page")
    assert src().splitlines()[f.line - 1].strip() == "role.cr4_pae = 0;"
    # the compare site is a related location
    assert ("root_cached", "compare") in {(st.function, st.kind) for st in f.related}
    kinds = {(t.side, t.kind) for t in f.trace}
    assert ("stored", "override") in kinds and ("stored", "store") in kinds
    assert ("lookup", "def") in kinds and ("lookup", "compare") in kinds
    assert "direct=1" in f.message


def test_trace_is_a_path_in_the_role_flow_graph():
    result = analyze_c(src())
    (f,) = decided(result.findings)
    lookup = [n for n in f.graph_path]
    # each side is a path from the definition to the compare node
    cut = lookup.index(next(n for n in lookup if n[0] == "step" and n[4] == "compare")) + 1
    import networkx as nx

    assert nx.is_path(result.graph, lookup[:cut])
    assert nx.is_path(result.graph, lookup[cut:])


def test_fix_in_producer_removes_the_finding():
    assert_findings(src(common=""))


def test_dropping_the_filter_removes_the_finding():
    assert_findings(src(filter=""))


SHADOW_ROOT = """static int alloc_shadow_root(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = get_page(vcpu, 0, root_level(vcpu), 0, 7);
	return sp != 0;
}

static int alloc_direct_root("""


def test_guard_not_holding_for_the_pair_is_not_reported():
    # the lookup's direct is computed (direct = !is_paging), so "when
    # direct" is not known to hold for it: cr4_pae is not reported; with
    # paging on it looks for shadow pages (direct = 0), which are made too
    both = src(direct="!is_paging(vcpu)").replace("static int alloc_direct_root(", SHADOW_ROOT)
    assert_findings(both)
    # with only direct pages made, lookups with paging on find none: a
    # call-site constant is a value, compared with the state it depends on
    alone = src(direct="!is_paging(vcpu)")
    assert_findings(alone, "role-mismatch:direct@alloc_direct_root")
    (f,) = decided(analyze_c(alone).findings)
    assert "lookups miss whenever is_paging(vcpu) != 0" in f.message


def test_two_different_constants_are_an_error():
    result = analyze_c(src(common="role.base.cr4_pae = 1;", filter="role.cr4_pae = 0;"))
    (f,) = decided(result.findings)
    assert (f.severity, f.field) == ("error", "cr4_pae")


def test_mask_dropping_a_field_the_lookup_carries():
    mask = "new_role.base.word &= keep_mask.word;"
    header_mask = "static const union kvm_mmu_page_role keep_mask = { .level = 0xf, .direct = 1, .access = 7, .cr4_pae = 1, .smm = 0xff };\n"
    # the mask is where the stored value diverges
    assert_findings(header_mask + src(filter="", mask=mask), "role-mismatch:nxe@init_tdp")


def test_mask_keeping_every_field_is_clean():
    mask = "new_role.base.word &= keep_mask.word;"
    header_mask = "static const union kvm_mmu_page_role keep_mask = { .level = 0xf, .direct = 1, .access = 7, .cr4_pae = 1, .nxe = 1, .smm = 0xff };\n"
    assert_findings(header_mask + src(filter="", mask=mask))


def test_true_and_1_are_the_same_constant():
    assert_findings(src(direct="1"), "role-mismatch:cr4_pae")
    assert decided(analyze_c(src(direct="1")).findings)[0].fingerprint == decided(
        analyze_c(src()).findings)[0].fingerprint


def test_renamed_locals_keep_the_fingerprint():
    renamed = src().replace("want", "expected").replace("new_role", "fresh")
    assert [f.fingerprint for f in decided(analyze_c(renamed).findings)] == [
        f.fingerprint for f in decided(analyze_c(src()).findings)]


def test_reordered_assignments_and_comments_change_nothing():
    reordered = src().replace(
        "\trole.base.access = 7;\n\trole.base.nxe = !!is_nx(vcpu);",
        "\t/* order does not matter */\n\trole.base.nxe = !!is_nx(vcpu);\n\n\trole.base.access = 7;")
    assert_findings(reordered, "role-mismatch:cr4_pae@get_page")


def test_common_producer_change_feeding_both_paths_is_clean():
    assert_findings(src(common="role.base.cr4_pae = is_pae(vcpu) ? 1 : 0;", filter=""))


def test_a_call_site_constant_no_lookup_matches_is_reported_at_the_call():
    # the only page is made with direct = 0 and access = 3, the lookup looks
    # for direct = 1, access = 7: it never finds it (call-site arguments are
    # values like any other; issue 10, cause 3)
    shadow = src(direct="true", filter="").replace(
        "get_page(vcpu, 0, root_level(vcpu), 1, 7)", "get_page(vcpu, 0, root_level(vcpu), 0, 3)")
    assert_findings(shadow, "role-mismatch:access@alloc_direct_root",
                    "role-mismatch:direct@alloc_direct_root")
    assert {f.severity for f in decided(analyze_c(shadow).findings)} == {"error"}


def test_a_field_set_differently_on_separate_paths_tells_configurations_apart():
    # direct pages (direct = 1) and shadow pages (direct = 0, access = 3) are
    # both made, and both kinds are looked up: each lookup finds its partner
    both = src(direct="true", filter="") + """
static int alloc_shadow_root(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = get_page(vcpu, 0, root_level(vcpu), 0, 3);
	return sp != 0;
}

void new_shadow_cr3(struct kvm_vcpu *vcpu, struct kvm_mmu_page *root)
{
	union kvm_mmu_page_role want = calc_root_role(vcpu);

	want.direct = 0;
	want.access = 3;
	root_cached(vcpu, root, want);
}
"""
    assert_findings(both)


def test_compare_and_store_sites_are_found():
    result = analyze_c(src())
    sites = sorted((c.func, c.step.line) for c in result.facts.compares)
    assert [s[0] for s in sites] == ["get_page", "root_cached"]
    stores = sorted((s.func, s.slot) for s in result.facts.stores)
    assert stores == [("get_page", "role"), ("init_tdp", "mmu_role")]
    producers = sorted(n for n, f in result.facts.functions.items() if f.returns_role)
    assert producers == ["calc_common", "calc_root_role", "calc_tdp_role"]


def test_early_return_is_a_separate_configuration():
    # two returns of one producer are two configurations: no error between them
    code = """
static union kvm_mmu_role calc_cpu_role(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_role role = {0};

	role.base.smm = is_smm(vcpu);
	if (!is_paging(vcpu)) {
		role.base.direct = 1;
		return role;
	}
	role.base.level = guest_level(vcpu);
	return role;
}

static union kvm_mmu_role calc_cpu_role2(struct kvm_vcpu *vcpu)
{
	return calc_cpu_role(vcpu);
}

void store_role(struct kvm_vcpu *vcpu, struct kvm_mmu *context)
{
	context->mmu_role = calc_cpu_role2(vcpu);
}

bool same_mode(struct kvm_vcpu *vcpu, struct kvm_mmu *context)
{
	union kvm_mmu_role role = calc_cpu_role2(vcpu);

	return role.as_u64 == context->mmu_role.as_u64;
}
"""
    assert_findings(code)


def test_short_circuit_guard_excludes_pages_the_compare_never_sees():
    # `!root->role.direct && ...`: direct pages never reach the comparison
    guarded = src().replace("return want.word == root->role.word;",
                            "return !root->role.direct && want.word == root->role.word;")
    assert_findings(guarded)


def test_loads_through_different_pointers_stay_apart():
    # the guard reads another page's role: it says nothing about `root`
    other = src().replace(
        "return want.word == root->role.word;",
        "return !root->parent->role.direct && want.word == root->role.word;").replace(
        "struct kvm_mmu_page *root,\n\t\t\tunion", "struct kvm_mmu_page *root,\n\t\t\tunion")
    assert_findings(other, "role-mismatch:cr4_pae@get_page")


def test_a_masked_comparison_compares_only_the_fields_it_keeps():
    # the comparison keeps cr4_pae and nxe: the only page (direct = 1, which
    # the comparison ignores) has cr4_pae 0, the lookup 1: it never matches
    masked = src(direct="0", common="role.base.cr4_pae = 1;", filter="role.cr4_pae = 0;").replace(
        "\treturn want.word == root->role.word;",
        "\treturn !((want.word ^ root->role.word) & keep.word);")
    masked = ("static const union kvm_mmu_page_role keep = { .cr4_pae = 1, .nxe = 1 };\n" + masked)
    assert_findings(masked, "role-mismatch:cr4_pae@get_page")
    # ...and a field it drops is never reported
    keep_nxe = masked.replace(".cr4_pae = 1, .nxe = 1", ".nxe = 1")
    assert_findings(keep_nxe)


def test_undecidable_fields_are_notes_of_their_own_rule():
    # `x ? 1 : 0` is `!!x`: one value of guest state, written two ways
    same = src(common="role.base.cr4_pae = !!is_pae(vcpu);",
               filter="role.cr4_pae = is_pae(vcpu) ? 1 : 0;")
    assert [f for f in analyze_c(same).findings if f.field == "cr4_pae"] == []
    # two different expressions: the analysis cannot tell they are equal
    code = src(common="role.base.cr4_pae = !!is_pae(vcpu);", filter="role.cr4_pae = guest_pae(vcpu);")
    notes = [f for f in analyze_c(code).findings if f.field == "cr4_pae"]
    assert [(f.rule, f.severity, f.function) for f in notes] == [
        ("role-mismatch-unknown", "note", "root_cached")]
    # and the guard the lookup cannot decide (direct computed there): the
    # direct page is its partner with paging off only if the guard holds
    both = src(direct="!is_paging(vcpu)").replace("static int alloc_direct_root(", SHADOW_ROOT)
    undecided = [f for f in analyze_c(both).findings if f.field == "cr4_pae"]
    assert [(f.rule, f.severity) for f in undecided] == [("role-mismatch-unknown", "note")]
    assert "guard cannot be decided" in undecided[0].message


LOOP = """
#define for_each_page(_sp, _list) for (_sp = (_list); _sp; _sp = (_sp)->next) %(filter)s

bool any_cached(struct kvm_vcpu *vcpu, struct kvm_mmu_page *list)
{
	struct kvm_mmu_page *sp;
	union kvm_mmu_page_role want = calc_root_role(vcpu);

	for_each_page(sp, list) {
		if (sp->role.word == want.word)
			return true;
	}
	return false;
}
"""


def test_an_iterator_macro_that_skips_direct_pages_is_followed():
    # the macro's own `if (...) {} else` tail: the body never sees direct pages
    # one cause, one finding: it names both lookups that miss
    plain = src() + LOOP % {"filter": ""}
    assert_findings(plain, "role-mismatch:cr4_pae@get_page")
    (f,) = decided(analyze_c(plain).findings)
    assert f.message.endswith("(any_cached, root_cached)")
    skips = src() + LOOP % {"filter": "if ((_sp)->role.direct) {} else"}
    (f,) = decided(analyze_c(skips).findings)
    assert f.message.endswith("(root_cached)")


def test_an_early_exit_inside_a_branch_leaves_no_guard_on_later_compares():
    # after `if (level) { if (direct) return; }` the compare runs whether
    # level holds or not: the branch's guard must not stay on the path
    code = """
bool after(struct kvm_mmu_page *sp, union kvm_mmu_page_role role)
{
	if (sp->role.level) {
		if (sp->role.direct)
			return false;
	}
	return sp->role.word == role.word;
}
bool inside(struct kvm_mmu_page *sp, union kvm_mmu_page_role role)
{
	if (sp->role.level) {
		if (sp->role.direct)
			return false;
		return sp->role.word == role.word;
	}
	return false;
}
"""
    from analyzer.terms import TRUE

    conds = {c.func: c.cond for c in analyze_c(code).facts.compares}
    assert conds["after"] == TRUE
    inside = repr(conds["inside"])
    assert "path='level'" in inside and "Not(cond=Truthy(" in inside and "path='direct'" in inside
