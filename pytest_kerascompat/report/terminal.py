"""The table at the end of ``pytest --keras-matrix``, in pytest's terminal summary."""

from __future__ import annotations

import shutil
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
#: Spaces before each column.
GAP = 2
#: Row labels are cut to three fifths of the width, but never below this.
MIN_LABEL = 24


def markup_for(square: Square) -> dict[str, bool]:
    if square.outcome is not None:
        return MARKUP.get(square.outcome, {})
    if square.status is not None and square.status is not CellStatus.OK:
        return {"red": True} if square.status.is_broken else {"yellow": True}
    return {}


def write_table(writer: Any, report: Report, width: int | None = None) -> None:
    """Draw the table with ``writer`` (a pytest TerminalReporter or anything alike).

    Within ``width`` (the terminal's unless given): cells that do not fit beside each
    other go on in further column groups below, each with the row labels again, and
    labels longer than three fifths of it are cut in the middle.
    """
    writer.write_sep("=", "keras compatibility matrix")
    if not report.cells:
        writer.write_line("no cells were run")
        return
    width = width or terminal_width(writer)
    rows = all_rows(report)
    label_width = min(max(len(row.label) for row in rows), max(MIN_LABEL, width * 3 // 5))
    widths = [
        max(len(cell.name), *(len(row.squares[i].text) for row in rows))
        for i, cell in enumerate(report.cells)
    ]
    for number, group in enumerate(column_groups(widths, width - label_width)):
        if number:
            writer.line("")
        write_group(writer, report, rows, label_width, {i: widths[i] for i in group})
    write_notes(writer, report)


def column_groups(widths: list[int], room: int) -> list[list[int]]:
    """The columns (by index, in order) split into as few groups as fit in ``room``,
    as even as they can be; a column wider than ``room`` has a group of its own."""
    greedy: list[list[int]] = [[]]
    for index, width in enumerate(widths):
        if greedy[-1] and sum(GAP + widths[i] for i in greedy[-1]) + GAP + width > room:
            greedy.append([])
        greedy[-1].append(index)
    size = -(-len(widths) // len(greedy))
    indices = list(range(len(widths)))
    even = [indices[start : start + size] for start in range(0, len(indices), size)]
    fits = all(sum(GAP + widths[i] for i in group) <= room for group in even)
    return even if fits and len(even) == len(greedy) else greedy


def write_group(
    writer: Any, report: Report, rows: list[Row], label_width: int, widths: dict[int, int]
) -> None:
    """The label column and the columns in ``widths``; the last one unpadded, so no line
    ends in spaces."""
    padded = dict(widths)
    padded[max(widths)] = 0
    writer.write(" " * label_width)
    for index, width in padded.items():
        writer.write(" " * GAP + report.cells[index].name.ljust(width), bold=True)
    writer.line("")
    for row in rows:
        writer.write(fit_label(row.label, label_width).ljust(label_width), bold=not row.header)
        for index, width in padded.items():
            square = row.squares[index]
            writer.write(" " * GAP)
            writer.write(square.text.ljust(width), **markup_for(square))
        writer.line("")


def fit_label(label: str, width: int) -> str:
    """A label cut in the middle: the file it starts with and the test it ends with stay."""
    if len(label) <= width:
        return label
    name = label[label.rfind("::") :] if "::" in label else ""
    tail = max((width - 1) * 3 // 5, min(len(name), width - 8))
    return label[: width - 1 - tail] + "\u2026" + label[len(label) - tail :]


def terminal_width(writer: Any) -> int:
    """The width pytest's terminal writer uses, else the writer's own, else the terminal's."""
    config = getattr(writer, "config", None)
    if config is not None:
        return int(config.get_terminal_writer().fullwidth)
    return int(getattr(writer, "width", None) or shutil.get_terminal_size().columns)


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

    def __init__(self, stream: Any, width: int | None = None) -> None:
        self.stream, self.width = stream, width or shutil.get_terminal_size().columns

    def write(self, text: str, **markup: bool) -> None:
        self.stream.write(text)

    def line(self, text: str = "", **markup: bool) -> None:
        self.stream.write(text.rstrip() + "\n")

    def write_line(self, text: str, **markup: bool) -> None:
        self.line(text)

    def write_sep(self, sep: str, title: str, **markup: bool) -> None:
        self.line(f" {title} ".center(self.width, sep))
