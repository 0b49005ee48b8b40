"""The two analyses users ask for: a scan of a tree and a check of patches.

``check`` applies each patch of a series in memory, in order, each to the
result of the previous one, and compares the analysis before and after it.
Patches that touch no role code are answered without parsing C.
"""

from __future__ import annotations

from pathlib import Path

from analyzer.delta import compare
from analyzer.errors import UserError
from analyzer.patch import Patch, PatchError
from analyzer.record import replace
from analyzer.results import CheckReport, PatchResult, PatchWork, ScanReport
from analyzer.sources import (
    CONTEXT,
    Image,
    is_role_path,
    mmu_image,
    no_sources,
    patched_image,
    read_tree_file,
)


def role_file_patches(patch: Patch) -> list:
    """The file changes of a patch that may change role flow."""
    return [f for f in patch.files
            if is_role_path(f.path) or (f.old_path is not None and is_role_path(f.old_path))]


def _context_changes(patch: Patch, read, res: PatchResult) -> dict[str, str | None]:
    """The patch's changes to the context files role-incomplete reads
    (sources.CONTEXT), when they apply; when they do not, the context stays
    as the tree has it, and a note says so."""
    from analyzer.patch import apply_patch

    files = [f for f in patch.files if f.path in CONTEXT or f.old_path in CONTEXT]
    if not files:
        return {}
    try:
        return dict(apply_patch(replace(patch, files=files), read).files)
    except PatchError as err:
        res.notes.append(f"context not applied ({err}): read as the tree has it")
        return {}


def run_scan(image: Image) -> ScanReport:
    from analyzer.analysis import analyze_cached  # heavy: tree-sitter

    result = analyze_cached(image)
    return ScanReport(files=list(image.files), findings=result.findings, analysis=result,
                      not_analyzed=result.not_analyzed())


def run_check(patches: list[Patch], tree: Path, base: Image | None = None) -> CheckReport:
    """Judge each patch against the tree as left by the patches before it.

    The tree's MMU sources are read once, when the first patch that touches
    role code needs them (``base``: that image, when the caller holds it
    already); a series that touches none reads nothing. The analysis of the
    tree is in the cache when this returns."""
    storing: list = []  # the analysis of the tree, written by a child meanwhile
    try:
        return _run_check(patches, tree, base, storing)
    finally:
        for beside in storing:
            beside.result()


def _run_check(patches: list[Patch], tree: Path, base: Image | None,
               storing: list) -> CheckReport:
    from analyzer.patch import apply_patch

    results: list[PatchResult] = []
    image = base
    opened = base is not None
    before = None  # analysis of ``image``, computed on demand
    overlay: dict[str, str | None] = {}  # what earlier patches changed

    def read(path: str) -> str | None:
        if path in overlay:
            return overlay[path]
        if image is not None and image.get(path) is not None:
            return image.get(path)
        return read_tree_file(tree, path)

    failed = 0  # the number of the patch that did not apply
    for number, patch in enumerate(patches, 1):
        res = PatchResult(subject=patch.subject, status="analyzed", files=patch.paths,
                          notes=list(patch.notes))
        results.append(res)
        if failed:
            res.status = "error"
            res.reason = f"an earlier patch of the series (patch {failed}/{len(patches)}) did not apply"
            continue
        role_files = role_file_patches(patch)
        if not role_files:
            # answered at once: no file read, nothing applied, no C parsed
            res.status, res.reason = "skipped", "no role code touched"
            continue
        if not opened:
            image, opened = mmu_image(tree), True
            res.notes += image.notes  # what reading the tree left out
        if image is None or not image.files:
            raise UserError(f"{no_sources(tree, image or Image())}, but the patch changes "
                            f"{', '.join(f.path for f in role_files)}; "
                            "pass --tree with the top of a kernel tree")
        # only the role files are applied: the others are not analyzed, so a
        # hunk of theirs that does not apply to this tree does not matter
        role_patch = replace(patch, files=role_files)
        try:
            applied = apply_patch(role_patch, read)
        except PatchError as err:
            res.status, res.reason = "error", str(err)
            failed = number
            continue
        changes = dict(applied.files)
        res.repaired, res.repair_reason = bool(applied.repaired), applied.repair_reason
        changes.update(_context_changes(patch, read, res))
        overlay.update(changes)
        from analyzer.analysis import analyze, analyze_cached, reusable

        new_image = patched_image(image, changes, read)
        # an edit the analysis after cannot be made from the one before
        # (a header, a union edited) needs only the findings before
        from_base = reusable(new_image, image)
        if before is None:  # written to the cache while the patch is analyzed
            before = analyze_cached(image, storing, findings_only=not from_base)
        after = analyze(new_image, base=before if from_base else None, base_image=image)
        res.delta = compare(before.findings, after.findings)
        res.notes += [str(n) for n in after.not_analyzed(changes)]
        res.work = PatchWork(parsed=list(after.parsed), reused=after.reused,
                             sites=len(after.by_site),
                             flow_errors=sum(after.role_flow_errors().values()))
        image, before = new_image, after
    return CheckReport(patches=results, tree=str(tree))
