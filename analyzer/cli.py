"""Command line: ``mmu-role-lint scan|check``.

Exit status: 0 clean, 1 findings (scan: any; check: introduced by a patch),
2 bad usage or input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzer import __version__
from analyzer.errors import UserError

EPILOG = "exit status: 0 clean, 1 role mismatches (check: introduced), 2 bad usage or input"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmu-role-lint",
        description="Find KVM x86 MMU role fields that differ between the store path "
                    "and the lookup path.",
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--tree", metavar="DIR",
                        help="top of the kernel tree (default: the git work tree, else .)")
        sp.add_argument("--format", choices=["text", "json"], default="text",
                        help="output format (default: text)")
        sp.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
        sp.add_argument("-v", "--verbose", action="store_true",
                        help="report parse quality and timings on stderr")

    sc = sub.add_parser("scan", help="report every role mismatch in a tree's MMU sources",
                        epilog=EPILOG)
    common(sc)
    sc.add_argument("files", nargs="*", metavar="FILE", help="files to analyze (default: find them)")

    ck = sub.add_parser("check", help="report the role mismatches patches introduce, fix and keep",
                        epilog=EPILOG)
    common(ck)
    ck.add_argument("patches", nargs="+", metavar="PATCH",
                    help="patch, mail or mbox file; - for standard input")
    return p


def _tree(arg: str | None) -> Path:
    from analyzer.sources import find_tree

    if arg is None:
        return find_tree()
    tree = Path(arg)
    if not tree.is_dir():
        raise UserError(f"{arg}: not a directory; pass --tree with the top of a kernel tree")
    return tree


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text)
    except OSError as err:
        raise UserError(f"{output}: cannot write the report ({err.strerror})") from None


def _verbose_scan(analysis, elapsed: float) -> None:
    errs = analysis.role_flow_errors()
    facts = analysis.facts
    flow = sum(1 for f in facts.functions.values() if f.role_flow)
    total_err = sum(sum(v.values()) for v in analysis.parse_errors.values())
    print(f"mmu-role-lint: {len(analysis.files)} files, {len(facts.functions)} functions, "
          f"{flow} in role flow; role types from {analysis.model.source}: "
          f"{', '.join(sorted(analysis.model.types))}", file=sys.stderr)
    print(f"mmu-role-lint: parse: {total_err} ERROR/MISSING nodes in all, "
          f"{sum(errs.values())} in role-flow functions"
          + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(errs.items()))})" if errs else ""),
          file=sys.stderr)
    print(f"mmu-role-lint: {len(facts.compares)} compare sites, "
          f"{sum(1 for s in facts.stores if s.value is not None)} role stores, "
          f"{sum(1 for f in facts.functions.values() if f.returns_role)} producers; "
          f"{elapsed:.2f}s", file=sys.stderr)


def cmd_scan(args: argparse.Namespace) -> int:
    import time

    from analyzer.report import FORMATS
    from analyzer.runner import run_scan
    from analyzer.sources import files_image, tree_image

    start = time.perf_counter()
    if args.files:
        tree = Path(args.tree) if args.tree else None
        if tree is not None and not tree.is_dir():
            raise UserError(f"{args.tree}: not a directory; pass --tree with the top of a kernel tree")
        image = files_image(args.files, tree)
    else:
        image = tree_image(_tree(args.tree))
    report = run_scan(image)
    if args.verbose:
        _verbose_scan(report.analysis, time.perf_counter() - start)
    _emit(FORMATS[args.format].scan(report), args.output)
    return report.exit_status()


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a directory; pass a patch, mail or mbox file") from None
    except OSError as err:
        raise UserError(f"{name}: cannot read ({err.strerror})") from None


def cmd_check(args: argparse.Namespace) -> int:
    from analyzer.patch import read_patches
    from analyzer.report import FORMATS
    from analyzer.runner import run_check
    from analyzer.sources import tree_image

    patches = []
    for name in args.patches:
        patches.extend(read_patches(_read_input(name), source=name if name != "-" else "<stdin>"))
    tree = _tree(args.tree)
    try:
        base = tree_image(tree)
    except UserError:
        base = None  # fine while no patch touches role code
    report = run_check(patches, tree, base)
    _emit(FORMATS[args.format].check(report), args.output)
    return report.exit_status()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "scan":
            return cmd_scan(args)
        return cmd_check(args)
    except UserError as err:
        print(f"mmu-role-lint: {err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
