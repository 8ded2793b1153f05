"""The table every renderer draws: header rows about cells, one row per test.

Renderers differ in markup only; what goes in each square is decided here once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from pytest_kerascompat.model.notes import Note, plural
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Report, Result

NOT_COLLECTED = "-"


@dataclasses.dataclass(frozen=True)
class Square:
    text: str
    outcome: Outcome | None = None
    status: CellStatus | None = None


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    squares: list[Square]
    header: bool = False


def keras_label(cell: CellReport) -> str:
    if not cell.keras:
        return ""
    module = cell.keras_module or ""
    return cell.keras if module in ("tf.keras", "") else f"{cell.keras} ({module})"


def header_rows(report: Report) -> list[Row]:
    rows = [
        Row("python", [Square(cell.python or "?") for cell in report.cells], header=True),
        Row("tensorflow", [Square(cell.tensorflow or "-") for cell in report.cells], header=True),
        Row("keras", [Square(keras_label(cell) or "-") for cell in report.cells], header=True),
    ]
    if any(cell.backend and cell.backend != "tensorflow" for cell in report.cells):
        rows.append(
            Row("backend", [Square(cell.backend or "tensorflow") for cell in report.cells], True)
        )
    if any(cell.status is not CellStatus.OK for cell in report.cells):
        rows.append(
            Row(
                "status",
                [Square(cell.status.value, status=cell.status) for cell in report.cells],
                header=True,
            )
        )
    return rows


def row_label(report: Report, test: str) -> str:
    api = report.api_of(test)
    probe = any(result.probe for result in report.results if result.test == test)
    if probe and api:
        return api
    return test


def test_rows(report: Report) -> list[Row]:
    index = report.squares()
    rows = []
    for test in report.tests:
        squares = [square_for(index.get((test, cell.name)), cell) for cell in report.cells]
        rows.append(Row(row_label(report, test), squares))
    return rows


def square_for(result: Result | None, cell: CellReport) -> Square:
    if result is not None:
        return Square(result.outcome.value, outcome=result.outcome)
    if cell.status is not CellStatus.OK:
        return Square(cell.status.value, status=cell.status)
    return Square(NOT_COLLECTED)


def all_rows(report: Report) -> list[Row]:
    return header_rows(report) + test_rows(report)


def notable_results(report: Report) -> Iterator[tuple[Result, Note, list[str]]]:
    """Each distinct non-passing note once, with every cell where it happened.

    The squares of a module's tests that stand for its failed import in a cell share
    one note, named by the module, as the cell saw one failure.
    """
    groups: dict[tuple[str, Note], list[Result]] = {}
    for result in report.results:
        if result.outcome in (Outcome.PASSED, Outcome.SKIPPED):
            continue
        note = dataclasses.replace(Note.of(result), detail=None)
        groups.setdefault((result.failed_module or result.test, note), []).append(result)
    for (label, note), results in groups.items():
        first = dataclasses.replace(results[0], test=label)
        yield first, note, list(dict.fromkeys(result.cell for result in results))


def run_failures(report: Report) -> list[str]:
    """Why the run fails, in words (empty when it passes): what decides the exit status."""
    failing, broken = len(report.failing_results), len(report.broken_cells)
    reasons = [f"{plural(failing, 'user square')} broke"] if failing else []
    reasons += [f"{plural(broken, 'cell')} could not run"] if broken else []
    return reasons
