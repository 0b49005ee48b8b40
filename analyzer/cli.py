"""Command line: ``mmu-role-lint COMMAND`` (commands in analyzer/commands/).

Exit status: 0 clean, 1 findings (scan: any; check: introduced by a patch),
2 bad usage or input (one line on stderr, never a traceback). Each
command's ``--help`` names its own.

Only the command that runs is imported. Options are never abbreviated
(``--tre`` is not ``--tree``), and a misspelled one gets the command's
usage and the nearest option."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import textwrap

from analyzer import __version__
from analyzer.commands import BY_NAME, COMMANDS
from analyzer.commands.common import say
from analyzer.errors import UserError

EPILOG = ("exit status: 0 clean, 1 role mismatches (check, git: introduced), 2 bad usage or "
          "input; mmu-role-lint COMMAND --help names each command's")


class _Paragraphs(argparse.HelpFormatter):
    """Descriptions and epilogs wrapped paragraph by paragraph (blank lines kept)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        # argparse makes a formatter for every argument it adds, and without
        # a width asks shutil for the terminal's: an import on every run
        super().__init__(prog, indent_increment, max_help_position,
                         width if width is not None else _terminal_width() - 2)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(textwrap.fill(" ".join(part.split()), width, initial_indent=indent,
                                         subsequent_indent=indent)
                           for part in text.split("\n\n"))


def _terminal_width() -> int:
    """The terminal's width as shutil.get_terminal_size says it: $COLUMNS,
    else the width of standard output's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _command_at(argv: list[str]) -> int | None:
    """Where the command name is: the first word that is not an option (the
    top level has no option that takes a value)."""
    return next((k for k, arg in enumerate(argv) if not arg.startswith("-")), None)


def parser(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, dict]:
    """The parser, with the arguments of the command ``argv`` names (of
    every command for ``argv=None``: the whole parser); and the subparsers
    by name. The top level's ``--help`` needs only the commands' names."""
    p = argparse.ArgumentParser(
        prog="mmu-role-lint",
        description="Find KVM x86 MMU role fields that differ between the store path "
                    "and the lookup path.",
        epilog=EPILOG, allow_abbrev=False, formatter_class=_Paragraphs,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    chosen = None  # every command
    if argv is not None:
        at = _command_at(argv)
        chosen = argv[at] if at is not None else ""
    subs = {}
    for cmd in COMMANDS:
        sp = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, epilog=cmd.epilog,
                            allow_abbrev=False, formatter_class=_Paragraphs)
        subs[cmd.name] = sp
        if chosen in (None, cmd.name):
            module = cmd.load()
            module.add_arguments(sp)
            sp.set_defaults(run=module.run, prepare=getattr(module, "prepare_argv", None))
    return p, subs


def nearest_option(word: str, sp: argparse.ArgumentParser) -> str | None:
    """The option of ``sp`` nearest a misspelled one."""
    import difflib

    name = word.split("=", 1)[0]
    options = [o for action in sp._actions for o in action.option_strings]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _unrecognized(extra: list[str], sp: argparse.ArgumentParser) -> str:
    message = f"unrecognized arguments: {' '.join(extra)}"
    for word in extra:
        if word.startswith("-") and word != "-":
            near = nearest_option(word, sp)
            if near is not None:
                return f"{message}; did you mean {near}?"
    return message


# An analysis allocates millions of small tuples (terms, traces, formulas),
# most of them alive until it ends: collected every 700 allocations (the
# default), the young generations are traversed again and again, a fifth
# of a large scan. Every 100,000 instead; the older generations as often
# as before relative to it, so that a long `git` run still frees its cycles.
GC_THRESHOLDS = (100_000, 10, 10)


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    argv = list(sys.argv[1:] if argv is None else argv)
    p, subs = parser(argv)
    at = _command_at(argv)
    if at is not None and argv[at] in BY_NAME:
        prepare = subs[argv[at]].get_default("prepare")
        if prepare is not None:
            argv = [*argv[:at + 1], *prepare(subs[argv[at]], argv[at + 1:])]
    args, extra = p.parse_known_args(argv)
    if extra:
        sp = subs.get(args.command) if args.command else None
        (sp or p).error(_unrecognized(extra, sp or p))
    if args.command is None:
        if sys.stderr is not None:
            p.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except UserError as err:
        say(f"mmu-role-lint: {err}")
        return err.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """The console script (and ``python -m analyzer``): ``main()``, then
    leave at once. What an analysis holds (tens of MB of small objects on
    a tree checked for the first time) is given back with the process, not
    freed object by object at interpreter exit: that teardown was an eighth
    of a first ``check``. Only once every stream is flushed; an exception
    or ``SystemExit`` (usage errors) leaves the usual way."""
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # as ``main``: a reader that left early is no error
            status = 0
        except (OSError, ValueError):
            status = status or 1
    os._exit(status)


if __name__ == "__main__":
    run()
