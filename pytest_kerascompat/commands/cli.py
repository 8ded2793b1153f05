"""``python -m pytest_kerascompat``: the command line; each command lives in its own module.

Each command imports its machinery when it runs, not when the command line is built:
``scan`` runs as a pre-commit hook on every commit and needs none of the sweep's
(pytest, nox, the index), which would cost it a quarter of a second each time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_kerascompat.commands import bisect as bisect_command
from pytest_kerascompat.commands import cache as cache_command
from pytest_kerascompat.commands import ci_matrix as ci_matrix_command
from pytest_kerascompat.commands import diff as diff_command
from pytest_kerascompat.commands import merge as merge_command
from pytest_kerascompat.commands.fix import command as fix_command
from pytest_kerascompat.commands.scan import command as scan_command
from pytest_kerascompat.config._validation import CommandError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_kerascompat",
        description="Commands around a Keras compatibility sweep",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    merge_command.add_parser(commands).set_defaults(run=merge_command.run)
    ci_matrix_command.add_parser(commands).set_defaults(run=ci_matrix_command.run)
    scan_command.add_parser(commands).set_defaults(run=scan_command.run)
    bisect_command.add_parser(commands).set_defaults(run=bisect_command.run)
    fix_command.add_parser(commands).set_defaults(run=fix_command.run)
    diff_command.add_parser(commands).set_defaults(run=diff_command.run)
    cache_command.add_parser(commands).set_defaults(run=cache_command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return status
