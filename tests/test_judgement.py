"""The judgement of issue 10 on small C snippets of our own: configurations
(undecided guards split, partial stores and masks followed, macros as
numbers), findings at their cause with fingerprints that survive renames,
and the guest-state formulas and macro values underneath."""

from __future__ import annotations

import pytest
from helpers import FIXTURES, analyze_c, assert_findings, decided
from test_role_flow import src

from analyzer import states
from analyzer.analysis import analyze
from analyzer.constants import definitions, evaluate, macro_values
from analyzer.sources import tree_image

MACROS = ("#define ACC_EXEC 1\n#define ACC_WRITE (1ULL << 1)\n#define ACC_USER (1ULL << 2)\n"
          "#define ACC_ALL (ACC_EXEC | ACC_WRITE | ACC_USER)\n")


def _line_of(code: str, text: str) -> int:
    (n,) = [i for i, line in enumerate(code.splitlines(), 1) if line.strip() == text]
    return n


def test_macro_constants_compare_as_numbers():
    # the producer says 7, the page allocator's caller ACC_ALL: one value
    spelled = MACROS + src(filter="").replace("get_page(vcpu, 0, root_level(vcpu), 1, 7)",
                                              "get_page(vcpu, 0, root_level(vcpu), 1, ACC_ALL)")
    assert_findings(spelled)
    # ACC_WRITE | ACC_USER is 6: the root is stored with access the lookup never has
    wrong = spelled.replace("1, ACC_ALL)", "1, ACC_WRITE | ACC_USER)")
    (f,) = decided(analyze_c(wrong).findings)
    assert (f.severity, f.field, f.function) == ("error", "access", "alloc_direct_root")
    assert "is forced to 6 on the stored side but 7 on the lookup side" in f.message


def test_a_macro_without_a_value_is_not_judged():
    unknown = src(filter="").replace("get_page(vcpu, 0, root_level(vcpu), 1, 7)",
                                     "get_page(vcpu, 0, root_level(vcpu), 1, ACC_SOMETHING)")
    assert_findings(unknown)


def test_a_partial_store_after_the_store_changes_what_is_stored():
    code = src(filter="").replace("\tsp->role = role;\n", "\tsp->role = role;\n\tsp->role.smm = 0;\n")
    (f,) = decided(analyze_c(code).findings)
    assert (f.field, f.function, f.line) == ("smm", "get_page", _line_of(code, "sp->role.smm = 0;"))
    assert f.severity == "warning" and "whenever is_smm(vcpu) != 0" in f.message
    # get_page's own lookup and root_cached both miss: one finding names both
    assert f.message.endswith("(get_page, root_cached)")


def test_a_word_mask_on_the_stored_role_clears_the_fields_it_drops():
    keep = "static const union kvm_mmu_page_role keep = { .level = 0xf, .direct = 1, .access = 7, .cr4_pae = 1, .nxe = 1 };\n"
    code = keep + src(filter="").replace("\tsp->role = role;\n",
                                         "\tsp->role = role;\n\tsp->role.word &= keep.word;\n")
    (f,) = decided(analyze_c(code).findings)
    assert (f.field, f.line) == ("smm", _line_of(code, "sp->role.word &= keep.word;"))


def test_an_undecided_guard_gives_one_configuration_per_branch():
    # a host flag the analysis cannot decide: pages are made both ways, and
    # the lookup misses in the states where the flag clears smm (issue 10,
    # cause 4: this was one "mixed" value, a note at most)
    code = src(filter="if (tdp_mmu_on)\n\t\trole.smm = 0;")
    (f,) = decided(analyze_c(code).findings)
    assert (f.field, f.severity) == ("smm", "warning")
    assert "tdp_mmu_on != 0" in f.message and "is_smm(vcpu) != 0" in f.message


def test_a_guard_the_callers_decide_is_decided():
    # both callers of get_page pass direct = 1: the filter always applies
    assert_findings(src(), "role-mismatch:cr4_pae@get_page")
    # a caller passing 0 makes shadow pages the lookup does not look for
    both = src().replace("static int alloc_direct_root(", """static int alloc_shadow_root(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = get_page(vcpu, 0, root_level(vcpu), 0, 7);
	return sp != 0;
}

static int alloc_direct_root(""")
    assert_findings(both, "role-mismatch:cr4_pae@get_page")


def test_fingerprints_survive_renaming_the_cause_and_the_lookup():
    before = decided(analyze_c(src()).findings)
    renamed = src().replace("get_page", "get_shadow_page").replace("root_cached", "root_is_cached")
    after = decided(analyze_c(renamed).findings)
    assert [f.fingerprint for f in after] == [f.fingerprint for f in before]
    assert after[0].function == "get_shadow_page"
    # moving the code keeps it too
    moved = "/* a comment */\n\n" + src()
    assert [f.fingerprint for f in decided(analyze_c(moved).findings)] == [
        f.fingerprint for f in before]


def test_formulas_of_guest_state():
    pae = states.is_value("!!is_pae(vcpu)", 0)
    assert pae == ("eq", "is_pae(vcpu)", 0)
    assert states.is_value("!is_paging(vcpu)", 1) == ("eq", "is_paging(vcpu)", 0)
    assert states.is_value("!!x", 2) is False
    assert states.same("!!is_pae(vcpu)", "is_pae(vcpu)") is True
    assert states.same("is_pae(vcpu)", "guest_pae(vcpu)") is None
    f = states.conj((states.truthy("tdp_mmu_enabled"), pae))
    assert states.satisfiable(f) is True
    assert states.satisfiable(states.conj((f, states.neg(pae)))) is False
    # an atom left free: each of its literals holds
    assert states.relax(f, lambda a: a != "tdp_mmu_enabled") == pae
    assert states.relax(states.neg(f), lambda a: a != "tdp_mmu_enabled") is True
    misses = [{"is_pae(vcpu)": states.OTHER, "smm": 0}, {"is_pae(vcpu)": states.OTHER, "smm": 1}]
    hits = [{"is_pae(vcpu)": 0, "smm": 0}]
    assert states.describe(misses, hits) == "is_pae(vcpu) != 0"
    assert states.describe(misses, []) == ""


def test_a_formula_implies_another_where_each_of_its_states_holds_the_other():
    tdp = states.truthy("tdp_mmu_enabled")
    direct = states.is_value("root_role.direct", 1)
    both = states.conj((tdp, direct))
    assert states.implies(both, direct)
    assert states.implies(both, states.disj((direct, states.neg(tdp))))
    assert states.implies(states.disj((both, states.conj((direct, states.neg(tdp))))), direct)
    assert not states.implies(direct, both)
    assert not states.implies(tdp, states.is_value("root_role.level", 4))
    # no state holds a contradiction: it implies anything
    assert states.implies(states.conj((direct, states.is_value("root_role.direct", 0))), tdp)
    assert states.implies(False, tdp) and states.implies(tdp, True)
    assert not states.implies(True, tdp)


def test_macro_values_of_the_tree():
    text = MACROS + "#define LEVELS 4 /* comment */\n#define TWICE 1\n#define TWICE 2\n#define F(x) x\n"
    values = macro_values([text])
    assert values["ACC_ALL"] == 7 and values["LEVELS"] == 4
    assert "TWICE" not in values and definitions([text])["TWICE"] is None  # defined two ways
    assert "F" not in definitions([text])  # function-like
    assert evaluate("ACC_WRITE | ACC_USER", values) == 6
    assert evaluate("(u64)~0 & 3", values) == 3
    assert evaluate("is_pae(vcpu)", values) is None


# One request: look the page up with the caller's role and, on a miss, make
# it with that role; three kinds of root are asked for (direct, shadow, and
# shadow with nxe clear), so nxe and direct each hold both values on both
# sides.
REQUEST = """
static struct kvm_mmu_page *find_page(int gfn, struct kvm_mmu_page *list,
				      union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp;

	for (sp = list; sp; sp = sp->next) {
		if (sp->gfn != gfn)
			continue;
		if (sp->role.word != role.word)
			continue;
		return sp;
	}
	return 0;
}

static struct kvm_mmu_page *make_page(int gfn, struct kvm_mmu_page *list,
				      union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp = new_page();

	sp->gfn = gfn;
	sp->role = role;
	hlist_add_head(&sp->hash_link, list);
	return sp;
}

static struct kvm_mmu_page *get_page(struct kvm *kvm, int gfn, union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *list = kvm->hash[gfn];
	struct kvm_mmu_page *sp;

	%(before)s
	sp = find_page(gfn, list, role);
	if (!sp) {
		%(after)s
		sp = make_page(gfn, list, role);
	}
	return sp;
}
""" + "".join(f"""
int alloc_{name}_root(struct kvm *kvm, int gfn)
{{
	union kvm_mmu_page_role role = {{0}};

	role.level = 4;
	role.direct = {direct};
	role.nxe = {nxe};
	return get_page(kvm, gfn, role) != 0;
}}
""" for name, direct, nxe in (("direct", 1, 1), ("shadow", 0, 1), ("nested", 0, 0)))

OVERRIDE = "if (role.direct)\n\t\t\trole.nxe = 0;"


def test_an_override_between_the_lookup_and_the_store_of_one_request():
    # direct roots are looked up with nxe 1 and made with nxe 0: never found
    # again. nxe and direct are each set differently on separate paths, but
    # the page made in the request is the lookup's own: the override is not
    # a field told apart on purpose
    code = REQUEST % {"before": "", "after": OVERRIDE}
    (f,) = decided(analyze_c(code).findings)
    assert (f.severity, f.field, f.function) == ("error", "nxe", "get_page")
    assert f.line == _line_of(code, "if (role.direct)") + 1
    assert "when direct=1" in f.message and "find_page never finds" in f.message
    # the same override before the lookup changes both sides alike
    assert_findings(REQUEST % {"before": OVERRIDE, "after": ""})
    assert_findings(REQUEST % {"before": "", "after": ""})


# Pages looked up and made with the access of their path (a root's 7, a
# child's from the guest's PTE), and a sync check against the MMU context's
# role that ignores the fields of %(ign)s.
SYNC = """
void init_context(struct kvm_vcpu *vcpu, struct kvm_mmu *mmu)
{
	union kvm_mmu_role role = {0};

	role.base.level = 4;
	role.base.access = 7;
	role.base.nxe = is_nx(vcpu);
	mmu->mmu_role = role;
}

static struct kvm_mmu_page *get_page(struct kvm_vcpu *vcpu, int gfn, unsigned level,
				     unsigned access)
{
	union kvm_mmu_page_role role = vcpu->arch.mmu->mmu_role.base;
	struct kvm_mmu_page *sp;

	role.level = level;
	role.access = access;
	for (sp = vcpu->kvm->hash[gfn]; sp; sp = sp->next)
		if (sp->role.word == role.word)
			return sp;
	sp = alloc_page(vcpu);
	sp->role = role;
	hlist_add_head(&sp->hash_link, &vcpu->kvm->hash[gfn]);
	return sp;
}

int alloc_root(struct kvm_vcpu *vcpu)
{
	return get_page(vcpu, 0, 4, 7) != 0;
}

int fetch(struct kvm_vcpu *vcpu, struct guest_walker *gw, int level)
{
	return get_page(vcpu, gw->gfn, level - 1, gw->pt_access[level - 2]) != 0;
}

bool sync_ok(struct kvm_vcpu *vcpu, struct kvm_mmu_page *sp)
{
	union kvm_mmu_page_role root_role = vcpu->arch.mmu->mmu_role.base;
	const union kvm_mmu_page_role ign = {
		.level = 0xf,
		%(ign)s
	};

	if (sp->role.direct || (sp->role.word ^ root_role.word) & ~ign.word)
		return false;
	return true;
}
"""


def test_a_masked_compare_keeping_a_field_pages_hold_per_path():
    # children hold the guest PTE's access, which no lookup computes: the
    # sync check (root_role.access is 7) passes them only when it is 7
    code = SYNC % {"ign": ""}
    (f,) = decided(analyze_c(code).findings)
    assert (f.severity, f.field, f.function) == ("warning", "access", "sync_ok")
    assert f.line == _line_of(code, "if (sp->role.direct || (sp->role.word ^ root_role.word) & ~ign.word)")
    assert "whenever gw->pt_access[level-2] != 7 (sync_ok)" in f.message
    # ignoring access, as the kernel does, is clean; so is get_page's own
    # lookup, which computes the same per-path value it stores
    assert_findings(SYNC % {"ign": ".access = 7,"})


# Direct and shadow roots, made by one function with the access and direct
# of their call; the root lookup computes direct from guest state.
ROOTS = """
static struct kvm_mmu_page *get_page(struct kvm_vcpu *vcpu, int gfn, int direct,
				     unsigned access)
{
	union kvm_mmu_page_role role = {0};
	struct kvm_mmu_page *sp;

	role.level = 4;
	role.direct = direct;
	role.access = access;
	sp = alloc_page(vcpu);
	sp->role = role;
	hlist_add_head(&sp->hash_link, &vcpu->kvm->hash[gfn]);
	return sp;
}

int alloc_direct_root(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = get_page(vcpu, 0, 1, 7);

	vcpu->arch.mmu->root_hpa = sp;
	return 0;
}

int alloc_shadow_root(struct kvm_vcpu *vcpu, int gfn)
{
	struct kvm_mmu_page *sp = get_page(vcpu, gfn, 0, %(access)s);

	vcpu->arch.mmu->root_hpa = sp;
	return 0;
}

bool root_usable(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_page_role role = {0};
	struct kvm_mmu_page *root = vcpu->arch.mmu->root_hpa;

	role.level = 4;
	role.direct = !is_paging(vcpu);
	role.access = 7;
	return root->role.word == role.word;
}
"""


def test_the_nearest_partner_is_the_one_the_guest_state_selects():
    # with paging on the lookup asks for a shadow root (direct 0), which
    # differs in access; the direct root it would match but for direct is
    # told apart by the state, not the partner that misses
    assert_findings(ROOTS % {"access": "7"})
    (f,) = decided(analyze_c(ROOTS % {"access": "6"}).findings)
    assert (f.field, f.function, f.severity) == ("access", "alloc_shadow_root", "warning")
    assert "whenever is_paging(vcpu) != 0" in f.message


def test_a_formula_as_one_function_agrees_with_holds_in_every_state():
    f = states.conj((states.is_value("is_pae(vcpu)", 0),
                     states.disj((states.truthy("tdp_mmu_enabled"), states.is_value("level", 4))),
                     states.neg(states.is_value("mirror", 1))))
    domains = states.atoms(f)
    for st in states.states(domains):
        assert states.test_of(f)(st) is states.holds(f, st), st
    # an atom's text is only ever a literal: quotes and code in it stay data
    odd = ("eq", "x') or True or ('", 1)
    assert states.test_of(odd)({}) is False and states.test_of(odd)({odd[1]: 1}) is True
    assert states.test_of(True)({}) is True and states.test_of(False)({}) is False


def test_the_states_where_a_formula_holds_come_in_the_order_of_every_state():
    f = states.conj((states.is_value("a", 1), states.neg(states.is_value("c", 0))))
    domains = {"a": {1}, "b": {2, 3}, "c": {0, 4}}
    want = [st for st in states.states(domains) if states.holds(f, st)]
    got = states.states_where(f, domains)
    assert got == want and [list(st) for st in got] == [list(st) for st in want]
    assert states.states_where(False, domains) == []
    too_many = {f"x{i}": {1, 2, 3} for i in range(8)}
    assert states.states_where(True, too_many) is None


def test_a_lookup_whose_states_are_too_many_is_judged_field_by_field(monkeypatch):
    # the legacy tree's cr4_pae miss, with every state of its atoms together
    # too many to enumerate: each field is judged on its own, over its own
    # atoms, and the finding is the one the whole enumeration gives
    tree = tree_image(FIXTURES / "legacy" / "tree")
    (whole,) = [f for f in analyze(tree).findings if f.rule == "role-mismatch"]
    monkeypatch.setattr(states, "MAX_STATES", 8)
    (alone,) = [f for f in analyze(tree).findings if f.rule == "role-mismatch"]
    assert (alone.field, alone.line, alone.message) == (whole.field, whole.line, whole.message)
    assert "whenever is_pae(vcpu) != 0" in alone.message
    # fewer than the field's own states: nothing is judged, nothing said
    monkeypatch.setattr(states, "MAX_STATES", 1)
    assert not [f for f in analyze(tree).findings if f.rule == "role-mismatch"]


def test_a_lookup_override_that_makes_a_flag_is_the_cause():
    # the lookup forces cr4_pae to 1 in SMM (`smm ? 1 : 0`, the flag
    # !!is_smm(vcpu)); every stored role keeps its producer's 0: the
    # finding is at the lookup's override, not at the producer's {0}
    code = src(common="", filter="").replace(
        "\tunion kvm_mmu_role role = calc_tdp_role(vcpu);\n\treturn role.base;",
        "\tunion kvm_mmu_role role = calc_tdp_role(vcpu);\n\n"
        "\tif (role.base.smm)\n\t\trole.base.cr4_pae = 1;\n\treturn role.base;")
    assert "role.base.cr4_pae = 1;" in code
    (f,) = decided(analyze_c(code).findings)
    assert (f.field, f.function) == ("cr4_pae", "calc_root_role")
    assert f.line == _line_of(code, "role.base.cr4_pae = 1;")
    assert "whenever is_smm(vcpu) != 0" in f.message


# Direct and shadow roots of one producer that computes direct and, with
# paging on only, nxe from guest state; %(override)s is get_page's own.
PAGING = """
static union kvm_mmu_page_role guest_role(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_page_role role = {0};

	role.level = 4;
	role.direct = !is_paging(vcpu);
	role.access = 7;
	if (is_paging(vcpu))
		role.nxe = is_nx(vcpu);
	return role;
}

static struct kvm_mmu_page *get_page(struct kvm_vcpu *vcpu, int gfn, int direct)
{
	union kvm_mmu_page_role role = guest_role(vcpu);
	struct kvm_mmu_page *sp;

	role.direct = direct;
	%(override)s
	sp = alloc_page(vcpu);
	sp->role = role;
	hlist_add_head(&sp->hash_link, &vcpu->kvm->hash[gfn]);
	return sp;
}

int alloc_direct_root(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = get_page(vcpu, 0, 1);

	vcpu->arch.mmu->root_hpa = sp;
	return 0;
}

int alloc_shadow_root(struct kvm_vcpu *vcpu, int gfn)
{
	struct kvm_mmu_page *sp = get_page(vcpu, gfn, 0);

	vcpu->arch.mmu->root_hpa = sp;
	return 0;
}

bool root_usable(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_page_role role = guest_role(vcpu);
	struct kvm_mmu_page *root = vcpu->arch.mmu->root_hpa;

	return root->role.word == role.word;
}
"""


def test_a_lookup_made_in_one_guest_state_looks_only_in_that_state():
    # the lookup made with paging off holds nxe 0 and looks for direct
    # roots only while paging is off; with paging on, the one made then
    # looks for shadow roots, which get_page forces to nxe 1: one finding,
    # at the override, in the states where is_nx(vcpu) is not 1, and none
    # on the direct roots' direct
    assert_findings(PAGING % {"override": ""})
    code = PAGING % {"override": "if (!direct)\n\t\trole.nxe = 1;"}
    (f,) = decided(analyze_c(code).findings)
    assert (f.severity, f.field, f.function) == ("warning", "nxe", "get_page")
    assert f.line == _line_of(code, "role.nxe = 1;")
    assert f.message.endswith("lookups miss whenever is_nx(vcpu) != 1 (root_usable)")


# A third kind of root, made with its own constants: direct 1, cr4_pae 1.
TDP_ROOT = """
int alloc_tdp_root(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_page_role role = {0};
	struct kvm_mmu_page *sp = alloc_page(vcpu);

	role.level = 4;
	role.direct = 1;
	role.access = 7;
	role.cr4_pae = 1;
	sp->role = role;
	vcpu->arch.mmu->root_hpa = sp;
	return 0;
}

"""


def test_a_field_every_partner_differs_in_does_not_choose_the_partner():
    # the lookup's access (6) differs from every root; with paging off the
    # direct root of get_page is its partner (only access differs), not
    # the TDP-like root, which differs in cr4_pae as well: one finding,
    # on access, and none on cr4_pae
    code = (ROOTS % {"access": "7"}).replace(
        "\trole.access = access;\n", "\trole.access = access;\n\trole.cr4_pae = !!is_pae(vcpu);\n")
    code = code.replace("bool root_usable(", TDP_ROOT + "bool root_usable(")
    lookup = "\trole.access = 7;\n\treturn root->role.word"
    assert lookup in code
    code = code.replace(lookup, "\trole.access = %s;\n\trole.cr4_pae = !!is_pae(vcpu);\n\treturn root->role.word")
    assert_findings(code % "7")
    (f,) = decided(analyze_c(code % "6").findings)
    assert (f.severity, f.field) == ("error", "access")
    assert "is 7 on the stored side but 6 on the lookup side" in f.message


# The MMU context's role stored member by member (%(ext)s: the second piece).
PIECES = """
static union kvm_mmu_role calc_role(struct kvm_vcpu *vcpu)
{
	union kvm_mmu_role role = {0};

	role.base.level = 4;
	role.base.direct = 1;
	role.base.smm = is_smm(vcpu);
	role.ext.valid = 1;
	return role;
}

static void init_mmu(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu *context = &vcpu->arch.root_mmu;
	union kvm_mmu_role new_role = calc_role(vcpu);
	union kvm_mmu_role zero = {0};

	if (new_role.as_u64 == context->mmu_role.as_u64)
		return;
	context->mmu_role.base = new_role.base;
	%(ext)s
}
"""


def test_a_role_stored_member_by_member_is_a_whole_store():
    # .base then .ext: the role they make is what the slot holds; the
    # lookup finds it when the pieces are its own, and misses on ext.valid
    # when the second piece is another role's (before, neither was a store)
    assert_findings(PIECES % {"ext": "context->mmu_role.ext = new_role.ext;"})
    code = PIECES % {"ext": "context->mmu_role.ext = zero.ext;"}
    (f,) = decided(analyze_c(code).findings)
    assert (f.severity, f.field, f.function) == ("error", "valid", "init_mmu")
    assert f.line == _line_of(code, "union kvm_mmu_role zero = {0};")
    # one piece only (.base) is no whole store: what the rest holds is not known
    assert_findings(PIECES % {"ext": ""})


# ---- a configuration's environment --------------------------------------------------


def test_an_environment_gives_each_origin_its_alternative():
    from analyzer.resolve.configs import Env
    from analyzer.terms import Origin

    param, load = Origin("param", "role", "f"), Origin("load", "role", "g", via="sp")
    first, second = object(), object()
    env = Env((param, load), (first, second))
    assert env.get(param) is first and env[load] is second
    # an equal origin made elsewhere finds the same alternative
    assert env.get(Origin("load", "role", "g", via="sp")) is second
    other = Origin("load", "role", "g", via="parent")
    assert env.get(other) is None and env.get(other, 7) == 7 and other not in env
    with pytest.raises(KeyError):
        env[other]
    assert param in env and len(env) == 2 and list(env) == [param, load]
    # it merges as the dict it stands for does, later ones winning
    assert {**env, **Env((load,), (first,))} == {param: first, load: first}
