"""Shard reports into one: the report of a matrix fanned out over CI jobs.

Each CI job runs ``--keras-cells`` for a part of the matrix and uploads its JSON
report; merging them gives the table a single run of the whole matrix would have
given. A square or a cell that two shards disagree on, or shards of different
schema versions, are errors that name the files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_kerascompat.commands._report_schema import report_problem
from pytest_kerascompat.config._validation import CommandError
from pytest_kerascompat.model.import_failures import spread_import_failures
from pytest_kerascompat.model.results import SCHEMA_VERSION, CellReport, Report, Result

OUTPUTS = (("json", "json"), ("md", "md"), ("html", "html"), ("junitxml", "junitxml"))
#: A shard larger than this is refused before it is parsed.
MAX_SHARD_BYTES = 256 * 1024 * 1024


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "merge", help="Combine shard reports (from --keras-cells runs) into one report"
    )
    parser.add_argument("shards", nargs="+", type=Path, metavar="SHARD.json")
    for flag, _ in OUTPUTS:
        parser.add_argument(f"--{flag}", type=Path, metavar="OUT", help=f"Write the {flag} report")
    return parser


def run(args: argparse.Namespace) -> int:
    """Exit 1 when the merged report fails the run, as the sweep itself would."""
    from pytest_kerascompat.report import write_reports
    from pytest_kerascompat.report.terminal import PlainWriter, write_table

    report = merge_reports(args.shards)
    try:
        write_reports(report, {fmt: getattr(args, flag) for flag, fmt in OUTPUTS})
    except OSError as error:
        raise MergeError(f"cannot write the merged report: {error}") from None
    write_table(PlainWriter(sys.stdout), report)
    return 1 if report.fails_run else 0


class MergeError(CommandError):
    """Shards that cannot be merged; the message says which files and what."""


def read_shard(path: Path) -> Report:
    """A shard checked against the report's schema: anything else is a usage error."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_SHARD_BYTES + 1)
    except FileNotFoundError:
        raise MergeError(f"{path}: no such file") from None
    except OSError as error:
        raise MergeError(f"{path}: cannot read it ({error.strerror})") from None
    if len(raw) > MAX_SHARD_BYTES:
        limit = f"{MAX_SHARD_BYTES >> 20} MiB"
        raise MergeError(f"{path}: larger than {limit}, the most a shard may be")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise MergeError(f"{path}: not a JSON report ({reason})") from None
    if not isinstance(data, dict) or "cells" not in data or "results" not in data:
        raise MergeError(f"{path}: not a kerascompat report (no 'cells' and 'results')")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise MergeError(
            f"{path}: schema version {version}, but this pytest-kerascompat reads "
            f"version {SCHEMA_VERSION}; produce every shard with the same release"
        )
    problem = report_problem(data)
    if problem:
        raise MergeError(f"{path}: malformed report: {problem}")
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MergeError(f"{path}: malformed report ({error})") from None


def merge_reports(paths: Sequence[Path]) -> Report:
    """One report from the shards at ``paths``, cells in the order the shards give them.

    Its ``run`` is the merge's own, keeping each shard's under ``shards``.
    """
    from pytest_kerascompat.model.provenance import merged_run

    merged = Report()
    cell_sources: dict[str, tuple[CellReport, Path]] = {}
    square_sources: dict[tuple[str, str], tuple[Result, Path]] = {}
    runs = []
    for path in paths:
        shard = read_shard(path)
        runs.append((path.name, shard.run))
        for cell in shard.cells:
            add_cell(merged, cell_sources, cell, path)
        for result in shard.results:
            add_square(merged, square_sources, result, path)
    spread_import_failures(merged)  # shards of different cells see each other's tests
    merged.sort([cell.name for cell in merged.cells])
    merged.run = merged_run(runs)
    return merged


def add_cell(
    merged: Report, sources: dict[str, tuple[CellReport, Path]], cell: CellReport, path: Path
) -> None:
    if cell.name not in sources:
        sources[cell.name] = (cell, path)
        merged.cells.append(cell)
        return
    earlier, where = sources[cell.name]
    if cell_identity(earlier) != cell_identity(cell):
        raise MergeError(
            f"cell {cell.name!r} differs between {where} ({describe_cell(earlier)}) "
            f"and {path} ({describe_cell(cell)})"
        )


def cell_identity(cell: CellReport) -> tuple[Any, ...]:
    """What two shards must agree on to be the same cell: what it asked for and had."""
    return (
        cell.status, cell.tensorflow, cell.keras, cell.python, cell.backend,
        cell.requirements, cell.pins, sorted(cell.env.items()),
    )  # fmt: skip


def add_square(
    merged: Report,
    sources: dict[tuple[str, str], tuple[Result, Path]],
    result: Result,
    path: Path,
) -> None:
    if result.key not in sources:
        sources[result.key] = (result, path)
        merged.results.append(result)
        return
    earlier, where = sources[result.key]
    if earlier.outcome is not result.outcome:
        raise MergeError(
            f"square {result.test} in cell {result.cell!r} is {earlier.outcome.value} in "
            f"{where} but {result.outcome.value} in {path}"
        )


def describe_cell(cell: CellReport) -> str:
    env = " ".join(f"{name}={value}" for name, value in sorted(cell.env.items()))
    return (
        f"{cell.status.value}, Python {cell.python}, TensorFlow {cell.tensorflow}, "
        f"Keras {cell.keras}, requirements {', '.join(cell.requirements) or '-'}"
        + (f", pins {', '.join(cell.pins)}" if cell.pins else "")
        + (f", env {env}" if env else "")
    )
