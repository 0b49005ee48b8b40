"""``--format github``: one workflow command per finding, escaped as the
Actions runner expects; for check, introduced findings are annotations and
fixed ones notices."""

from __future__ import annotations

from helpers import FIXTURES

from analyzer.cli import main
from analyzer.findings import Finding, TraceStep
from analyzer.report.github import annotation, command, escape_data, escape_property

LEGACY = FIXTURES / "legacy" / "tree"
PATCHES = FIXTURES / "legacy" / "patches"
SEED_FIX = PATCHES / "0001-seed-fix.patch"
MASK = PATCHES / "0009-mask-drops-nxe.patch"
MMU_C = LEGACY / "arch" / "x86" / "kvm" / "mmu.c"


def run(capsys, *argv: str) -> tuple[int, list[str]]:
    status = main([*argv, "--format", "github"])
    return status, capsys.readouterr().out.splitlines()


def unescape(value: str) -> str:
    for code, char in (("%0A", "\n"), ("%0D", "\r"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(code, char)
    return value


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """``::kind k=v,k=v::message`` -> (kind, props, message), unescaped."""
    assert line.startswith("::")
    head, message = line[2:].split("::", 1)
    kind, _, params = head.partition(" ")
    props = dict(p.split("=", 1) for p in params.split(",")) if params else {}
    return kind, {k: unescape(v) for k, v in props.items()}, unescape(message)


def test_scan_is_one_warning_at_the_cause(capsys):
    status, lines = run(capsys, "scan", "--tree", str(LEGACY))
    (line,) = lines
    override = next(i for i, text in enumerate(MMU_C.read_text().split("\n"), 1)
                    if text.strip() == "role.cr4_pae = 0;")
    assert status == 1
    assert line.startswith(f"::warning file=arch/x86/kvm/mmu.c,line={override},col=3,"
                           "title=role-mismatch (cr4_pae)::role field 'cr4_pae' is forced to 0")
    _, _, message = parse(line)
    body = message.split("\n")
    assert body[1] == "in kvm_mmu_get_page(), field 'cr4_pae'"
    assert body[0].endswith("lookups miss whenever is_pae(vcpu) != 0 (cached_root_available)")
    assert "stored side: arch/x86/kvm/mmu.c:91: kvm_mmu_get_page: override: role.cr4_pae = 0" in body
    assert any(b.startswith("stored side:") and ": store: sp->role = role" in b for b in body)


def test_escaping_follows_the_workflow_command_rules():
    assert escape_data("50%\r\nx: a, b") == "50%25%0D%0Ax: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", "two\nlines: 100%", file="dir,x/a:b.c", line=3, title="t (f)")
    assert line == "::error file=dir%2Cx/a%3Ab.c,line=3,title=t (f)::two%0Alines: 100%25"
    assert "\n" not in line
    assert command("notice", "bare") == "::notice::bare"


def test_an_error_finding_is_an_error_and_its_properties_are_escaped():
    f = Finding("role-mismatch", "error", "level", "is 4 on one side, 5 on the other", "a,b:c.c",
                7, 3, "fn", [TraceStep("a,b:c.c", 5, "fn", "def", "role.level = 4", "left")])
    kind, props, message = parse(annotation(f))
    assert kind == "error"
    assert props == {"file": "a,b:c.c", "line": "7", "col": "3", "title": "role-mismatch (level)"}
    assert message.split("\n")[-1] == "left side: a,b:c.c:5: fn: def: role.level = 4"


def test_check_annotates_introduced_only(capsys):
    status, lines = run(capsys, "check", str(MASK), "--tree", str(LEGACY))
    (line,) = lines  # cr4_pae persists: no annotation
    kind, props, message = parse(line)
    assert status == 1 and kind == "warning" and props["title"] == "role-mismatch (nxe)"
    assert message.endswith("introduced by 'x86/kvm/mmu: stop keeping nxe in the cached context role'")


def test_check_fixed_is_a_notice(capsys):
    status, lines = run(capsys, "check", str(MASK), str(SEED_FIX), "--tree", str(LEGACY))
    parsed = [parse(line) for line in lines]
    assert status == 1
    assert [(k, p["title"]) for k, p, _ in parsed] == [
        ("warning", "role-mismatch (nxe)"), ("notice", "role-mismatch (cr4_pae) fixed")]
    assert parsed[1][2].endswith("fixed by 'x86/kvm/mmu: compute cr4_pae only for the shadow MMU root role'")


def test_check_patch_not_analyzed_is_an_error_without_file(capsys):
    _, lines = run(capsys, "check", str(SEED_FIX), str(SEED_FIX), "--tree", str(LEGACY))
    errors = [parse(line) for line in lines if line.startswith("::error")]
    ((_, props, message),) = errors
    assert props == {"title": "mmu-role-lint"} and message.startswith("patch 2/2 ")
