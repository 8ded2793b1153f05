"""``python -m pytest_kerascompat diff BASE.json HEAD.json``: what a change did to the table.

The question a reviewer asks of a pull request is not "what does the table look like"
but "what did this change break": so the squares are compared one by one, and the
command exits 1 when a square or a cell fails in HEAD that did not fail in BASE, which
lets a CI job gate a pull request on the main branch's report.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_kerascompat.model.results import CellReport, Report, Result

EXIT_BROKE = 1
NONE = "\u2013"  # an en dash: no such square or cell in that report
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "diff",
        help="Compare two JSON reports square by square; exit 1 when something broke",
    )
    parser.add_argument("base", type=Path, metavar="BASE.json", help="The report to compare with")
    parser.add_argument("head", type=Path, metavar="HEAD.json", help="The report of the change")
    parser.add_argument("--md", type=Path, metavar="OUT", help="Write the diff as Markdown")
    parser.add_argument("--json", type=Path, metavar="OUT", help="Write the diff as JSON")
    parser.add_argument(
        "--format",
        choices=("text", "md", "json"),
        default="text",
        help="What to print on standard output (default: text)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Exit 1 when HEAD breaks something BASE did not, else 0."""
    from pytest_kerascompat.commands.merge import read_shard
    from pytest_kerascompat.env._files import write_text_atomically

    diff = diff_reports(read_shard(args.base), read_shard(args.head))
    renderers = {"text": render_text, "md": render_markdown, "json": render_json}
    for path, fmt in ((args.md, "md"), (args.json, "json")):
        if path is not None:
            write_text_atomically(path, renderers[fmt](diff))
    sys.stdout.write(renderers[args.format](diff))
    summary = os.environ.get(STEP_SUMMARY_VARIABLE)
    if summary:
        with Path(summary).open("a", encoding="utf-8") as stream:
            stream.write(render_markdown(diff) + "\n")
    return EXIT_BROKE if diff.broke else 0


class Change(str, enum.Enum):
    """How a square or a cell differs between the two reports."""

    BROKE = "broke"
    FIXED = "fixed"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclasses.dataclass(frozen=True)
class SquareChange:
    """One square whose outcome differs; ``None`` where a report has no such square."""

    test: str
    cell: str
    change: Change
    before: str | None
    after: str | None
    message: str | None = None


@dataclasses.dataclass(frozen=True)
class CellChange:
    """A column added, removed, or whose status or versions differ."""

    cell: str
    change: Change
    before: str | None
    after: str | None


@dataclasses.dataclass
class ReportDiff:
    squares: list[SquareChange]
    cells: list[CellChange]

    @property
    def broke(self) -> bool:
        changes = [item.change for item in self.squares] + [item.change for item in self.cells]
        return Change.BROKE in changes

    def squares_of(self, change: Change) -> list[SquareChange]:
        return [item for item in self.squares if item.change is change]

    def to_dict(self) -> dict[str, Any]:
        def listed(items: Iterable[Any]) -> list[dict[str, Any]]:
            return [{**dataclasses.asdict(item), "change": item.change.value} for item in items]

        return {
            "broke": self.broke,
            "counts": {change.value: len(self.squares_of(change)) for change in Change},
            "squares": listed(self.squares),
            "cells": listed(self.cells),
        }


def diff_reports(base: Report, head: Report) -> ReportDiff:
    """Every square and cell that differs, in HEAD's table order (BASE's for the removed)."""
    return ReportDiff(squares=_square_changes(base, head), cells=_cell_changes(base, head))


def _square_changes(base: Report, head: Report) -> list[SquareChange]:
    before, after = base.squares(), head.squares()
    changes = [
        change
        for key, result in after.items()
        if (change := _square_change(before.get(key), result)) is not None
    ]
    from pytest_kerascompat.model.results import CellStatus

    # A cell that could not run in HEAD is reported once, as a cell, not square by square.
    ran = {cell.name for cell in head.cells if cell.status is CellStatus.OK}
    for key, result in before.items():
        if key not in after and result.cell in ran:
            changes.append(
                SquareChange(result.test, result.cell, Change.REMOVED, result.outcome.value, None)
            )
    return changes


def _square_change(old: Result | None, new: Result) -> SquareChange | None:
    """A failing square is a break unless it failed before too; a new passing one is added."""
    was = old.outcome.value if old else None
    if new.fails_run and (old is None or not old.fails_run):
        change = Change.BROKE
    elif old is None:
        change = Change.ADDED
    elif old.fails_run and not new.fails_run:
        change = Change.FIXED
    elif old.outcome is not new.outcome:
        change = Change.CHANGED
    else:
        return None
    message = new.message if change is Change.BROKE else None
    return SquareChange(new.test, new.cell, change, was, new.outcome.value, message)


def _cell_changes(base: Report, head: Report) -> list[CellChange]:
    before = {cell.name: cell for cell in base.cells}
    after = {cell.name: cell for cell in head.cells}
    changes = []
    for name, cell in after.items():
        old = before.get(name)
        if old is None:
            kind = Change.BROKE if cell.status.is_broken else Change.ADDED
            changes.append(CellChange(name, kind, None, describe(cell)))
        elif describe(old) != describe(cell):
            changes.append(
                CellChange(name, _status_change(old, cell), describe(old), describe(cell))
            )
    changes += [
        CellChange(name, Change.REMOVED, describe(cell), None)
        for name, cell in before.items()
        if name not in after
    ]
    return changes


def _status_change(old: CellReport, new: CellReport) -> Change:
    if new.status.is_broken and not old.status.is_broken:
        return Change.BROKE
    if old.status.is_broken and not new.status.is_broken:
        return Change.FIXED
    return Change.CHANGED


def describe(cell: CellReport) -> str:
    """A cell's status and what it ran on: ``ok, Python 3.11.7, TensorFlow 2.15.1, Keras 3.6.0``.

    A cell whose versions moved (a new release of a ``2.15`` range) differs too.
    """
    parts = [cell.status.value]
    parts += [
        f"{label} {version}"
        for label, version in (
            ("Python", cell.python),
            ("TensorFlow", cell.tensorflow),
            ("Keras", cell.keras),
        )
        if version
    ]
    return ", ".join(parts)


def headline(diff: ReportDiff) -> str:
    counts = [f"{len(diff.squares_of(change))} {change.value}" for change in Change]
    squares = "squares: " + ", ".join(counts)
    cells = f"cells: {len(diff.cells)} differ" if diff.cells else "cells: none differ"
    verdict = "HEAD breaks what BASE did not" if diff.broke else "nothing broke"
    return f"{verdict} ({squares}; {cells})"


def _arrow(before: str | None, after: str | None) -> str:
    return f"{before or '(none)'} -> {after or '(none)'}"


def render_text(diff: ReportDiff) -> str:
    lines = [headline(diff)]
    for change in Change:
        items = diff.squares_of(change)
        if items:
            lines.append(f"\n{change.value.upper()} ({len(items)})")
            for item in items:
                lines.append(f"  {item.test} [{item.cell}]: {_arrow(item.before, item.after)}")
                if item.message:
                    lines.append(f"      {item.message.splitlines()[0]}")
    if diff.cells:
        lines.append(f"\nCELLS ({len(diff.cells)})")
        lines += [
            f"  {item.cell}: {item.change.value}: {_arrow(item.before, item.after)}"
            for item in diff.cells
        ]
    return "\n".join(lines) + "\n"


def render_markdown(diff: ReportDiff) -> str:
    """For a pull request comment or the job summary; every report text is escaped."""
    from pytest_kerascompat.report.markdown import code, escape

    parts = ["## Keras compatibility: changes against the base report", escape(headline(diff))]
    for change in Change:
        items = diff.squares_of(change)
        if not items:
            continue
        rows = [
            f"| {code(item.test, in_table=True)} | {escape(item.cell)} | "
            f"{escape(item.before or NONE)} | {escape(item.after or NONE)} | "
            f"{escape((item.message or '').splitlines()[0] if item.message else '')} |"
            for item in items
        ]
        parts.append(
            f"### {change.value.capitalize()} ({len(items)})\n\n"
            "| Test | Cell | Before | After | Message |\n|---|---|---|---|---|\n" + "\n".join(rows)
        )
    if diff.cells:
        rows = [
            f"| {escape(item.cell)} | {item.change.value} | {escape(item.before or NONE)} | "
            f"{escape(item.after or NONE)} |"
            for item in diff.cells
        ]
        parts.append(
            f"### Cells ({len(diff.cells)})\n\n| Cell | Change | Before | After |\n"
            "|---|---|---|---|\n" + "\n".join(rows)
        )
    return "\n\n".join(parts) + "\n"


def render_json(diff: ReportDiff) -> str:
    return json.dumps(diff.to_dict(), indent=2) + "\n"
