"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzer.encoding import encode
from analyzer.errors import UserError


def format_names() -> list[str]:
    from analyzer.report import FORMATS

    return list(FORMATS)


def add_output_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--tree", metavar="DIR",
                    help="top of the kernel tree (default: the git work tree, else .)")
    sp.add_argument("--format", choices=format_names(), default="text",
                    help="output format (default: text)")
    sp.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    sp.add_argument("--unknown", action="store_true",
                    help="also report what the analysis cannot decide (role-mismatch-unknown notes)")
    sp.add_argument("-v", "--verbose", action="store_true",
                    help="report parse quality and timings on stderr")


def tree_arg(arg: str | None) -> Path:
    from analyzer.sources import find_tree

    if arg is None:
        return find_tree()
    tree = Path(arg)
    if not tree.is_dir():
        raise UserError(f"{arg}: not a directory; pass --tree with the top of a kernel tree")
    return tree


def emit(text: str, output: str | None) -> None:
    """Write the report; bytes that were not UTF-8 in the input (a file
    name) are written back as they were."""
    data = encode(text)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        Path(output).write_bytes(data)
    except OSError as err:
        raise UserError(f"{output}: cannot write the report ({err.strerror})") from None


def emit_report(args: argparse.Namespace, report, kind: str) -> None:
    """Write a scan or check report in the chosen format; the notes of what
    the analysis cannot decide only with --unknown."""
    from analyzer.report import FORMATS

    shown = report.at_least("note" if getattr(args, "unknown", False) else "warning")
    emit(getattr(FORMATS[args.format], kind)(shown), args.output)


def read_input(name: str) -> bytes:
    """A file's bytes, or standard input for ``-``."""
    from analyzer.sources import read_bytes

    if name == "-":
        return sys.stdin.buffer.read()
    return read_bytes(Path(name), name, "a patch, mail or mbox file")
