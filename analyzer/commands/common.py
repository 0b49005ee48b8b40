"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import contextlib
import os
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
    sp.add_argument("-o", "--output", metavar="FILE",
                    help="write the report to FILE (- for standard output, the default)")
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


def say(line: str) -> None:
    """One line on standard error, when there is one to write to (a closed
    stderr must not send it to standard output, as ``print`` would)."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        try:
            stream.write(line + "\n")
        except UnicodeEncodeError:  # a strict stderr and a byte that was not UTF-8
            stream.write(encode(line).decode("utf-8", "backslashreplace") + "\n")
        stream.flush()


def tree_notes(args: argparse.Namespace, notes: list[str]) -> None:
    """What reading the tree left out (symlinks...), on stderr; never in b4
    format, where every stderr line counts as a failed check."""
    if args.format != "b4":
        for line in notes:
            say(f"mmu-role-lint: note: {line}")


def emit(text: str, output: str | None) -> None:
    """Write the report to ``output``, or to standard output for None or
    ``-``. Bytes that were not UTF-8 in the input (a file name) are written
    back as they were."""
    data = encode(text)
    if output is not None and output != "-":
        try:
            Path(output).write_bytes(data)
        except OSError as err:
            raise UserError(f"{output}: cannot write the report ({err.strerror})") from None
        return
    stream = sys.stdout
    if stream is None:
        raise UserError("standard output is closed; pass -o FILE to write the report to a file")
    try:
        stream.flush()
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            stream.write(data.decode("utf-8", "replace"))
        else:
            buffer.write(data)
        stream.flush()
    except BrokenPipeError:
        _discard(stream)
        raise
    except OSError as err:
        _discard(stream)
        raise UserError(f"cannot write the report to standard output ({err.strerror}); "
                        "pass -o FILE to write it to a file") from None


def _discard(stream) -> None:
    """Point a stream that failed at /dev/null, so that what is left in its
    buffer does not fail again (with a traceback) when Python exits."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)


def emit_report(args: argparse.Namespace, report, kind: str) -> None:
    """Write a scan or check report in the chosen format; the notes of what
    the analysis cannot decide only with --unknown."""
    from analyzer.report import FORMATS

    shown = report.at_least("note" if getattr(args, "unknown", False) else "warning")
    emit(getattr(FORMATS[args.format], kind)(shown), args.output)


def read_input(name: str) -> bytes:
    """A file's bytes, or standard input for ``-``; only regular files, and
    no more than ``filereader.MAX_BYTES``."""
    from analyzer.filereader import MAX_BYTES, read_bytes, too_big

    if name != "-":
        return read_bytes(Path(name), name, "a patch, mail or mbox file, or - for standard input")
    stream = sys.stdin
    if stream is None:
        raise UserError("standard input is closed; pass the patch as a file, or - with the "
                        "patch on standard input")
    try:
        data = getattr(stream, "buffer", stream).read(MAX_BYTES + 1)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read standard input ({getattr(err, 'strerror', None) or err}); "
                        "pass the patch as a file") from None
    if isinstance(data, str):
        data = encode(data)
    if len(data) > MAX_BYTES:
        raise too_big("standard input")
    return data
