"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path

from analyzer.encoding import encode
from analyzer.errors import UserError


def format_names() -> list[str]:
    from analyzer.report import FORMATS

    return list(FORMATS)


def ignore_target(value: str) -> tuple[str, str | None]:
    """``--ignore RULE[:FIELD]``: the rule is checked here, the field once
    the role model is known (``analyzer.suppress.unknown_field``)."""
    from analyzer.suppress import parse_target, unknown_rule

    rule, field = parse_target(value)
    problem = unknown_rule(rule)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return rule, field


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
    checkpatch = sp.add_argument_group("checkpatch habits")
    checkpatch.add_argument("--terse", action="store_true",
                            help="text format: one line per finding, without its trace")
    checkpatch.add_argument("-q", "--quiet", action="store_true",
                            help="text format: only the findings that count and the patches "
                                 "not analyzed; no notes, no counts, no summary")
    checkpatch.add_argument("--ignore", action="append", default=[], type=ignore_target,
                            metavar="RULE[:FIELD]",
                            help="leave out the findings of RULE (of one FIELD of it); they "
                                 "do not count for the exit status; repeatable")
    checkpatch.add_argument("--show-types", action="store_true",
                            help="accepted for checkpatch's sake: every finding already ends "
                                 "with its rule id, [role-mismatch]")


# git rev-list's revision options (gitrevisions(7)): revisions, not ours
REV_OPTION = re.compile(r"--(?:not|all|branches|tags|remotes|glob|exclude|reflog|"
                        r"alternate-refs|indexed-objects)(?:=.*)?$")


def revisions_last(sp: argparse.ArgumentParser, tokens: list[str]) -> list[str]:
    """A command's tokens with its own options first, then ``--`` and the
    revisions in their order, as git takes them: ``HEAD --not --remotes``
    (``--not`` flips the revisions after it, so the order is kept). After
    ``--``, everything is a revision."""
    takes_value = {o for a in sp._actions for o in a.option_strings if a.nargs != 0}
    own: list[str] = []
    revs: list[str] = []
    k = 0
    while k < len(tokens):
        word = tokens[k]
        k += 1
        if word == "--":
            revs += tokens[k:]
            break
        if REV_OPTION.match(word) or not word.startswith("-") or word == "-":
            revs.append(word)
            continue
        own.append(word)
        if word.startswith("--"):
            wants = "=" not in word and word in takes_value
        else:  # -vo FILE, -oFILE: the value follows the first short option that takes one
            flags = word[1:]
            at = next((i for i, c in enumerate(flags) if f"-{c}" in takes_value), None)
            wants = at is not None and at == len(flags) - 1
        if wants and k < len(tokens):
            own.append(tokens[k])
            k += 1
    return [*own, "--", *revs] if revs else own


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


def ignored(args: argparse.Namespace, report):
    """The report without the findings of ``--ignore``, whose fields are
    checked now that the role model is known (a typo is bad usage)."""
    if not args.ignore:
        return report
    from analyzer.suppress import known_fields, unknown_field

    model = getattr(getattr(report, "analysis", None), "model", None)
    fields = known_fields(model, report.all_findings())
    for rule, field in args.ignore:
        problem = unknown_field(field, fields)
        if problem:
            raise UserError(f"--ignore {rule}:{field}: {problem}")
    return report.ignoring(args.ignore)


def emit_report(args: argparse.Namespace, report, kind: str) -> int:
    """Write a scan or check report in the chosen format, as the options
    shape it, and return its exit status: ``--ignore`` leaves findings out
    of both, the notes of what the analysis cannot decide are shown only
    with ``--unknown``, ``--terse`` and ``--quiet`` shape the text format.
    A check whose patches were not all analyzed says so on stderr too
    (never in b4 format, where every stderr line counts as a failed check)."""
    from analyzer.report import FORMATS

    report = ignored(args, report)
    shown = report.at_least("note" if getattr(args, "unknown", False) else "warning")
    options = {"terse": args.terse, "quiet": args.quiet} if args.format == "text" else {}
    emit(getattr(FORMATS[args.format], kind)(shown, **options), args.output)
    if kind == "check" and args.format != "b4":
        missed = report.not_analyzed()
        if missed and len(missed) == len(report.patches):
            say(f"mmu-role-lint: no patch could be analyzed: {report.patches[0].reason}")
        elif missed:
            first = missed[0]
            say(f"mmu-role-lint: warning: {len(missed)} of {len(report.patches)} patches not "
                f"analyzed; patch {first}/{len(report.patches)}: {report.patches[first - 1].reason}")
    return report.exit_status()


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
