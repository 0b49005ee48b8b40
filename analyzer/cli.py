"""Command line: ``mmu-role-lint COMMAND`` (commands in analyzer/commands/).

Exit status: 0 clean, 1 findings (scan: any; check: introduced by a patch),
2 bad usage or input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys

from analyzer import __version__
from analyzer.commands import COMMANDS
from analyzer.commands.common import say
from analyzer.errors import UserError

EPILOG = "exit status: 0 clean, 1 role mismatches (check: introduced), 2 bad usage or input"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmu-role-lint",
        description="Find KVM x86 MMU role fields that differ between the store path "
                    "and the lookup path.",
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS:
        sp = sub.add_parser(cmd.NAME, help=cmd.HELP, description=cmd.HELP, epilog=EPILOG)
        cmd.add_arguments(sp)
        sp.set_defaults(run=cmd.run)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
