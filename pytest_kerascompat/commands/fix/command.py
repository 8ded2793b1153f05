"""``python -m pytest_kerascompat fix``: its options and its run.

Only this module is imported to build the command line; LibCST, the matrix loader and
the sweep's report model load when ``fix`` runs.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pytest_kerascompat.commands.scan import ALL
from pytest_kerascompat.commands.scan.command import rule_list
from pytest_kerascompat.config._validation import CommandError

if TYPE_CHECKING:
    from pytest_kerascompat.commands.fix.files import FileFix
    from pytest_kerascompat.commands.fix.project import FixReport
    from pytest_kerascompat.commands.fix.verify import SquareChange
    from pytest_kerascompat.config.matrix import Matrix


class FixUsageError(CommandError):
    """Options that cannot go together."""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    fix: argparse.ArgumentParser = commands.add_parser(
        "fix",
        help="Rewrite uses of changed Keras APIs to code that works in every supported release",
        description="Rewrite what `scan` finds, where the fix is mechanical and its result "
        "works in every release the project supports (pyproject dependencies or --supports, "
        "and the matrix). Exit 0 when nothing is left, 1 when findings remain for a person.",
    )
    fix.add_argument("paths", nargs="+", metavar="PATH", help="Files or directories to fix")
    fix.add_argument("--diff", action="store_true", help="Print a unified diff and change nothing")
    fix.add_argument(
        "--force",
        action="store_true",
        help="Write even outside a git work tree or over uncommitted changes",
    )
    fix.add_argument(
        "--supports",
        action="append",
        default=[],
        metavar="REQUIREMENT",
        help="What the project supports, instead of pyproject's dependencies "
        '(e.g. "tensorflow>=2.4"; repeatable)',
    )
    fix.add_argument(
        "--matrix",
        type=Path,
        metavar="PATH",
        help="Matrix file (default: matrix.yaml here, else the bundled one)",
    )
    fix.add_argument(
        "--select",
        type=rule_list,
        metavar="RULE,...",
        help=f"Fix only these scan rules ({ALL} for every rule, including those off by default)",
    )
    fix.add_argument(
        "--ignore", type=rule_list, default=[], metavar="RULE,...", help="Leave these rules alone"
    )
    fix.add_argument(
        "--verify",
        action="store_true",
        help="Sweep before and after; roll back the rewrites that make any square worse",
    )
    fix.add_argument(
        "--sweep-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="Pass ARG to the --verify sweep's pytest (repeatable), "
        "e.g. --sweep-arg=--keras-cells=a,b",
    )
    return fix


def run(args: argparse.Namespace) -> int:
    """Exit 0 when nothing is left, 1 when a finding remains or a square got worse."""
    from pytest_kerascompat.commands.fix.files import check_writable
    from pytest_kerascompat.commands.fix.project import fix_paths
    from pytest_kerascompat.commands.fix.window import support_window
    from pytest_kerascompat.commands.scan import select_rules

    if args.diff and (args.verify or args.force):
        raise FixUsageError("--diff changes nothing: it cannot go with --verify or --force")
    cwd = Path.cwd()
    matrix = load(args.matrix, cwd)
    window = support_window(project_root(cwd), args.supports, matrix, matrix_label(matrix))
    report = fix_paths(args.paths, window, select_rules(args.select, args.ignore))
    out = sys.stderr if args.diff else sys.stdout
    print(f"support window: {window.describe()}", file=out)
    if args.diff:
        for line in diff(report.changed):
            sys.stdout.write(line)
        write_summary(report, out, "would be made")
        return report.exit_status
    if not args.force:
        check_writable([file.path for file in report.changed])
    status = 0
    if args.verify and report.changed:
        status = verified(report, args, cwd, out)
    elif args.verify:
        print("fix --verify: no rewrite to make, so no sweep to run", file=out)
    else:
        for file in report.changed:
            file.write()
    write_summary(report, out, "made")
    return max(status, report.exit_status)


def verified(report: FixReport, args: argparse.Namespace, cwd: Path, out: TextIO) -> int:
    from pytest_kerascompat.commands.fix.rewrites import Left
    from pytest_kerascompat.commands.fix.verify import verify

    sweep_args = [*([f"--keras-matrix-file={args.matrix}"] if args.matrix else []), *args.sweep_arg]
    changes, rolled_back = verify(cwd, report.changed, sweep_args)
    write_squares(changes, out)
    for file in rolled_back:
        worse = ", ".join(
            f"{c.test} in {c.cell} ({c.before} -> {c.after})" for c in changes if c.worse
        )
        file.left += [Left(item.finding, f"rolled back: the rewrites of this file made "
                           f"{worse} worse") for item in file.fixed]  # fmt: skip
        file.fixed = []
        file.after = file.before
    return 1 if rolled_back else 0


def load(path: Path | None, cwd: Path) -> Matrix:
    from pytest_kerascompat.config.matrix import load_matrix
    from pytest_kerascompat.config.options import default_matrix

    return load_matrix(path or default_matrix(cwd))


def matrix_label(matrix: Matrix) -> str:
    from pytest_kerascompat.config.options import BUNDLED_MATRIX

    return "the bundled matrix" if matrix.path == BUNDLED_MATRIX else relative(matrix.path)


def project_root(cwd: Path) -> Path:
    """The nearest directory at or above ``cwd`` with a pyproject.toml (else ``cwd``)."""
    for directory in (cwd, *cwd.parents):
        if (directory / "pyproject.toml").is_file():
            return directory
    return cwd


def diff(files: Sequence[FileFix]) -> Iterator[str]:
    """``git apply``-able diffs of Python files; a notebook's diff is per code cell."""
    for file in files:
        name = relative(file.path)
        if file.path.suffix == ".ipynb":
            yield from notebook_diff(file, name)
        else:
            yield from difflib.unified_diff(
                file.before.splitlines(True), file.after.splitlines(True), f"a/{name}", f"b/{name}"
            )


def notebook_diff(file: FileFix, name: str) -> Iterator[str]:
    before, after = json.loads(file.before)["cells"], json.loads(file.after)["cells"]
    for number, (old, new) in enumerate(zip(before, after), start=1):
        old_text, new_text = cell_text(old), cell_text(new)
        if old_text != new_text:
            yield from difflib.unified_diff(
                old_text.splitlines(True),
                new_text.splitlines(True),
                f"a/{name} (cell {number})",
                f"b/{name} (cell {number})",
            )


def cell_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return text if text.endswith("\n") else text + "\n"


def relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def write_summary(report: FixReport, out: TextIO, verb: str) -> None:
    from pytest_kerascompat.commands.scan.output import location
    from pytest_kerascompat.model.notes import plural

    for skipped in report.skipped:
        print(f"{location(skipped.path, skipped.cell)}: not read: {skipped.reason}", file=out)
    for item in report.fixed:
        f = item.finding
        how = f" ({item.rewrite.name})" if item.rewrite.name != f.rule else ""
        print(f"{location(f.path, f.cell, f.line, f.column)}: {f.rule} fixed{how}", file=out)
    for left in report.left:
        f = left.finding
        print(f"{location(f.path, f.cell, f.line, f.column)}: {f.rule} left: {left.reason}",
              file=out)  # fmt: skip
    files = plural(len(report.changed), "file")
    remaining = plural(len(report.left), "finding")
    print(
        f"{plural(len(report.fixed), 'rewrite')} {verb} in {files}; {remaining} left for a person.",
        file=out,
    )


def write_squares(changes: Sequence[SquareChange], out: TextIO) -> None:
    """Every square before and after; the worse ones marked."""
    width = max((len(change.test) for change in changes), default=0)
    cell_width = max((len(change.cell) for change in changes), default=0)
    print("squares before -> after:", file=out)
    for change in changes:
        mark = "  WORSE" if change.worse else ""
        print(f"  {change.test:<{width}}  {change.cell:<{cell_width}}  "
              f"{change.before} -> {change.after}{mark}", file=out)  # fmt: skip
