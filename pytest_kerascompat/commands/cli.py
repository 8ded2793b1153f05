"""``python -m pytest_kerascompat``: commands around a sweep (merge, CI matrix, scan, bisect).

Each command imports its machinery when it runs, not when the command line is built:
``scan`` runs as a pre-commit hook on every commit and needs none of the sweep's
(pytest, nox, the index), which would cost it a quarter of a second each time.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_kerascompat.commands import bisect as bisect_command
from pytest_kerascompat.commands.scan import command as scan_command
from pytest_kerascompat.config._validation import CommandError

OUTPUTS = (("json", "json"), ("md", "md"), ("html", "html"), ("junitxml", "junitxml"))
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_kerascompat",
        description="Commands around a Keras compatibility sweep",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    merge = commands.add_parser(
        "merge", help="Combine shard reports (from --keras-cells runs) into one report"
    )
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD.json")
    for flag, _ in OUTPUTS:
        merge.add_argument(f"--{flag}", type=Path, metavar="OUT", help=f"Write the {flag} report")
    merge.set_defaults(run=run_merge)
    ci_matrix = commands.add_parser(
        "ci-matrix", help='Print the cells as a GitHub Actions matrix ({"include": [...]})'
    )
    ci_matrix.add_argument(
        "--matrix-file",
        type=Path,
        help="Matrix file (default: ./matrix.yaml, else the bundled one)",
    )
    ci_matrix.set_defaults(run=run_ci_matrix)
    scan_command.add_parser(commands).set_defaults(run=scan_command.run)
    bisect_command.add_parser(commands).set_defaults(run=bisect_command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return status


def run_merge(args: argparse.Namespace) -> int:
    """Exit 1 when the merged report fails the run, as the sweep itself would."""
    from pytest_kerascompat.commands.merge import merge_reports
    from pytest_kerascompat.report import write_reports
    from pytest_kerascompat.report.terminal import PlainWriter, write_table

    report = merge_reports(args.shards)
    write_reports(report, {fmt: getattr(args, flag) for flag, fmt in OUTPUTS})
    write_table(PlainWriter(sys.stdout), report)
    return 1 if report.fails_run else 0


def run_ci_matrix(args: argparse.Namespace) -> int:
    from pytest_kerascompat.config.matrix import load_matrix
    from pytest_kerascompat.env.environments import default_cache_dir
    from pytest_kerascompat.plan.index import PackageIndex
    from pytest_kerascompat.plan.plans import newest_supported_python

    path = args.matrix_file or default_matrix_file()
    matrix = load_matrix(path)
    index = PackageIndex(default_cache_dir())
    include = []
    for cell in matrix.cells:
        python = newest_supported_python(cell, index)
        include.append({"cell": cell.name, "python": python})
    print(json.dumps({"include": include}))
    return 0


def default_matrix_file() -> Path:
    from pytest_kerascompat.config.options import BUNDLED_MATRIX, DEFAULT_MATRIX_NAME

    local = Path.cwd() / DEFAULT_MATRIX_NAME
    return local if local.is_file() else BUNDLED_MATRIX
