"""``python -m pytest_kerascompat``: commands around a sweep (merge, CI matrix, scan, bisect)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import bisect_command
from .bisection import BisectError
from .environments import default_cache_dir
from .index import IndexUnavailable, PackageIndex
from .matrix import MatrixError, load_matrix
from .merge import MergeError, merge_reports
from .options import BUNDLED_MATRIX, DEFAULT_MATRIX_NAME
from .planning import newest_supported_python
from .report import write_reports
from .report.terminal import PlainWriter, write_table
from .scan import ScanUsageError
from .scan import command as scan_command

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
    ci_matrix = commands.add_parser(
        "ci-matrix", help='Print the cells as a GitHub Actions matrix ({"include": [...]})'
    )
    ci_matrix.add_argument(
        "--matrix-file",
        type=Path,
        help="Matrix file (default: ./matrix.yaml, else the bundled one)",
    )
    scan_command.add_parser(commands)
    bisect_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "merge":
            return run_merge(args)
        if args.command == "scan":
            return scan_command.run(args)
        if args.command == "bisect":
            return bisect_command.run(args)
        return run_ci_matrix(args)
    except (MergeError, MatrixError, IndexUnavailable, ScanUsageError, BisectError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def run_merge(args: argparse.Namespace) -> int:
    """Exit 1 when the merged report fails the run, as the sweep itself would."""
    report = merge_reports(args.shards)
    write_reports(report, {fmt: getattr(args, flag) for flag, fmt in OUTPUTS})
    write_table(PlainWriter(sys.stdout), report)
    return 1 if report.fails_run else 0


def run_ci_matrix(args: argparse.Namespace) -> int:
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
    local = Path.cwd() / DEFAULT_MATRIX_NAME
    return local if local.is_file() else BUNDLED_MATRIX
