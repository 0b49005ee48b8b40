"""The two analyses users ask for: a scan of a tree and a check of patches.

``check`` applies each patch of a series in memory, in order, each to the
result of the previous one, and compares the analysis before and after it.
Patches that touch no role code are answered without parsing C.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from analyzer.delta import Delta, compare
from analyzer.errors import UserError
from analyzer.findings import Finding
from analyzer.patch import Patch, PatchError
from analyzer.sources import Image, is_role_path, patched_image, read_text


def role_file_patches(patch: Patch) -> list:
    """The file changes of a patch that may change role flow."""
    return [f for f in patch.files
            if is_role_path(f.path) or (f.old_path is not None and is_role_path(f.old_path))]


def unsuppressed(findings: list[Finding]) -> list[Finding]:
    """The findings that decide the exit status: all but the suppressed ones
    and the notes (what the analysis could not decide)."""
    return [f for f in findings if f.suppressed is None and f.severity != "note"]


def hide_notes(report: CheckReport | ScanReport) -> None:
    """Drop the notes (role-mismatch-unknown) unless --unknown asked for them."""
    def keep(findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if f.severity != "note"]

    if isinstance(report, ScanReport):
        report.findings = keep(report.findings)
        return
    for p in report.patches:
        p.delta.introduced = keep(p.delta.introduced)
        p.delta.fixed = keep(p.delta.fixed)
        p.delta.persisting = keep(p.delta.persisting)


@dataclass
class PatchResult:
    subject: str
    status: str  # analyzed | skipped | error
    reason: str = ""
    files: list[str] = field(default_factory=list)
    delta: Delta = field(default_factory=Delta)
    repaired: bool = False
    repair_reason: str = ""
    notes: list[str] = field(default_factory=list)
    work: str = ""  # what analyzing it took (for --verbose)


@dataclass
class CheckReport:
    patches: list[PatchResult]
    tree: str = ""

    def totals(self) -> dict[str, int]:
        return {
            "introduced": sum(len(p.delta.introduced) for p in self.patches),
            "fixed": sum(len(p.delta.fixed) for p in self.patches),
            "persisting": sum(len(p.delta.persisting) for p in self.patches if p.status == "analyzed"),
        }

    def exit_status(self) -> int:
        if self.patches and all(p.status == "error" for p in self.patches):
            return 2
        return 1 if any(unsuppressed(p.delta.introduced) for p in self.patches) else 0


@dataclass
class ScanReport:
    files: list[str]
    findings: list[Finding]
    analysis: object = None

    def exit_status(self) -> int:
        return 1 if unsuppressed(self.findings) else 0


def run_scan(image: Image) -> ScanReport:
    from analyzer.analysis import analyze_cached  # heavy: tree-sitter

    result = analyze_cached(image)
    return ScanReport(files=list(image.files), findings=result.findings, analysis=result)


def run_check(patches: list[Patch], tree: Path, base: Image | None) -> CheckReport:
    """Judge each patch against the tree as left by the patches before it.

    ``base`` is the tree's MMU image, or None when the tree has no MMU
    sources (then every patch must touch none)."""
    from analyzer.patch import apply_patch

    results: list[PatchResult] = []
    image = base
    before = None  # analysis of ``image``, computed on demand
    overlay: dict[str, str | None] = {}  # what earlier patches changed

    def read(path: str) -> str | None:
        if path in overlay:
            return overlay[path]
        if image is not None and image.get(path) is not None:
            return image.get(path)
        p = tree / path
        if not p.is_file():
            return None
        return read_text(p, path)

    failed = False
    for patch in patches:
        res = PatchResult(subject=patch.subject, status="analyzed", files=patch.paths,
                          notes=list(patch.notes))
        results.append(res)
        if failed:
            res.status, res.reason = "error", "not analyzed: an earlier patch of the series did not apply"
            continue
        role_files = role_file_patches(patch)
        if not role_files:
            # answered at once: no file read, nothing applied, no C parsed
            res.status, res.reason = "skipped", "no role code touched"
            continue
        if image is None:
            raise UserError(f"{tree}: no KVM MMU sources, but the patch changes "
                            f"{', '.join(f.path for f in role_files)}; "
                            "pass --tree with the top of a kernel tree")
        # only the role files are applied: the others are not analyzed, so a
        # hunk of theirs that does not apply to this tree does not matter
        role_patch = replace(patch, files=role_files)
        try:
            changes = apply_patch(role_patch, read)
        except PatchError as err:
            res.status, res.reason = "error", str(err)
            failed = True
            continue
        res.repaired, res.repair_reason = role_patch.repaired, role_patch.repair_reason
        overlay.update(changes)
        from analyzer.analysis import analyze, analyze_cached

        if before is None:
            before = analyze_cached(image)
        new_image = patched_image(image, changes, read)
        after = analyze(new_image, base=before, base_image=image)
        res.delta = compare(before.findings, after.findings)
        flow_errors = sum(after.role_flow_errors().values())
        res.work = (f"parsed {', '.join(after.parsed) or 'nothing'}; "
                    f"{after.reused} of {len(after.facts.compares)} comparison sites reused; "
                    f"{flow_errors} ERROR nodes in role-flow functions")
        image, before = new_image, after
    return CheckReport(patches=results, tree=str(tree))
