"""The table at the end of ``pytest --keras-matrix``, in pytest's terminal summary."""

from __future__ import annotations

from typing import Any

from pytest_kerascompat.model.results import CellStatus, Outcome, Report
from pytest_kerascompat.report.table import (
    Row,
    Square,
    all_rows,
    notable_results,
    row_label,
)

MARKUP: dict[Outcome, dict[str, bool]] = {
    Outcome.PASSED: {"green": True},
    Outcome.DEPRECATED: {"yellow": True},
    Outcome.REMOVED: {"red": True, "bold": True},
    Outcome.FAILED: {"red": True},
    Outcome.ERROR: {"red": True},
    Outcome.TIMEOUT: {"red": True},
    Outcome.CRASHED: {"red": True, "bold": True},
    Outcome.XFAILED: {"yellow": True},
    Outcome.XPASSED: {"yellow": True, "bold": True},
}
MAX_MESSAGE = 160


def markup_for(square: Square) -> dict[str, bool]:
    if square.outcome is not None:
        return MARKUP.get(square.outcome, {})
    if square.status is not None and square.status is not CellStatus.OK:
        return {"red": True} if square.status.is_broken else {"yellow": True}
    return {}


def write_table(writer: Any, report: Report) -> None:
    """Draw the table with ``writer`` (a pytest TerminalReporter or anything alike)."""
    writer.write_sep("=", "keras compatibility matrix")
    if not report.cells:
        writer.write_line("no cells were run")
        return
    rows = all_rows(report)
    label_width = max(len(row.label) for row in rows)
    widths = [
        max(len(cell.name), *(len(row.squares[i].text) for row in rows))
        for i, cell in enumerate(report.cells)
    ]
    widths[-1] = 0  # the last column needs no padding: no trailing spaces on any line
    writer.write(" " * label_width)
    for cell, width in zip(report.cells, widths):
        writer.write("  " + cell.name.ljust(width), bold=True)
    writer.line("")
    for row in rows:
        write_row(writer, row, label_width, widths)
    write_notes(writer, report)


def write_row(writer: Any, row: Row, label_width: int, widths: list[int]) -> None:
    writer.write(row.label.ljust(label_width), bold=not row.header)
    for square, width in zip(row.squares, widths):
        writer.write("  ")
        writer.write(square.text.ljust(width), **markup_for(square))
    writer.line("")


def write_notes(writer: Any, report: Report) -> None:
    problems = [cell for cell in report.cells if cell.status is not CellStatus.OK]
    notes = list(notable_results(report))
    if not problems and not notes:
        return
    writer.line("")
    for cell in problems:
        writer.write(f"{cell.name}: {cell.status.value}", **{"red": cell.status.is_broken})
        writer.line("")
        for line in (cell.detail or "").splitlines():
            writer.line(f"    {line}")
    for result, note, cells in notes:
        label = row_label(report, result.test)
        writer.write(f"{label} [{', '.join(cells)}]: ")
        writer.write(note.outcome.value, **MARKUP.get(note.outcome, {}))
        writer.line(f" - {shorten(note.message)}" if note.message else "")
        for extra in (note.hint_line, note.rule_line):
            if extra:
                writer.line(f"    {extra}")


def shorten(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


class PlainWriter:
    """The parts of pytest's TerminalReporter the table uses, for plain text streams."""

    def __init__(self, stream: Any, width: int = 80) -> None:
        self.stream, self.width = stream, width

    def write(self, text: str, **markup: bool) -> None:
        self.stream.write(text)

    def line(self, text: str = "", **markup: bool) -> None:
        self.stream.write(text.rstrip() + "\n")

    def write_line(self, text: str, **markup: bool) -> None:
        self.line(text)

    def write_sep(self, sep: str, title: str, **markup: bool) -> None:
        self.line(f" {title} ".center(self.width, sep))
