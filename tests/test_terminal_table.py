"""The terminal table fits the terminal: column groups, labels cut in the middle."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.report.terminal import PlainWriter, column_groups, write_table

OUTCOMES = [Outcome.PASSED, Outcome.DEPRECATED, Outcome.REMOVED, Outcome.FAILED]
TESTS = ["tests/test_training.py::test_fit", "tests/test_training.py::test_fit_generator"]


def wide_report(cells: int = 14) -> Report:
    """A matrix as wide as a real one: 14 cells whose squares differ from cell to cell."""
    names = [f"tf2.{index}" if index % 3 else f"tf2.{index}-legacy" for index in range(cells)]
    return Report(
        cells=[
            CellReport(
                name,
                python="3.11.7",
                tensorflow=f"2.{index}.1",
                keras=f"2.{index}.0",
                keras_module="tf.keras",
            )
            for index, name in enumerate(names)
        ],
        results=[
            Result(name, test, OUTCOMES[(index + row) % len(OUTCOMES)])
            for index, name in enumerate(names)
            for row, test in enumerate(TESTS)
        ],
    )


def table_lines(report: Report, width: int) -> list[str]:
    stream = io.StringIO()
    write_table(PlainWriter(stream, width=width), report)
    return stream.getvalue().splitlines()[1:]  # after the title line


def groups_of(lines: list[str]) -> list[list[str]]:
    """The table's blocks (header line first), up to the notes."""
    first_note = next(i for i, line in enumerate(lines) if "]: " in line)
    table = lines[:first_note]
    blocks: list[list[str]] = [[]]
    for line in table:
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def squares_read_back(blocks: list[list[str]]) -> dict[tuple[str, str], str]:
    """(test, cell) -> outcome, read from the drawn text as a person reads it."""
    seen = {}
    for block in blocks:
        cells = block[0].split()
        for line in block[1:]:
            label, *values = line.split()
            if label.startswith("tests/"):
                assert len(values) == len(cells)
                seen.update({(label, cell): value for cell, value in zip(cells, values)})
    return seen


def test_a_wide_matrix_goes_on_in_column_groups_within_the_width() -> None:
    report = wide_report()
    lines = table_lines(report, 80)
    blocks = groups_of(lines)
    assert len(blocks) > 1
    names = [name for block in blocks for name in block[0].split()]
    assert names == [cell.name for cell in report.cells], "every cell once, in matrix order"
    assert all(len(line) <= 80 for block in blocks for line in block)
    assert all(not line.endswith(" ") for line in lines)
    expected = {(r.test, r.cell): r.outcome.value for r in report.results}
    assert squares_read_back(blocks) == expected, "each square under its own cell"


def test_the_groups_are_as_even_as_the_width_allows() -> None:
    assert column_groups([10] * 14, 60) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13]]
    assert column_groups([10] * 6, 1000) == [list(range(6))]
    assert column_groups([10, 50, 10], 30) == [[0], [1], [2]], "too wide alone: its own group"


def test_a_wide_terminal_keeps_one_table() -> None:
    report = wide_report()
    blocks = groups_of(table_lines(report, 400))
    assert len(blocks) == 1


def test_long_labels_are_cut_in_the_middle_and_the_notes_keep_them_whole() -> None:
    test = "tests/integration/training/test_data_feeding.py::test_fit_with_a_python_generator"
    report = Report(
        cells=[CellReport("tf2.16", python="3.12.1", tensorflow="2.16.2", keras="3.15.1")],
        results=[Result("tf2.16", test, Outcome.FAILED, message="boom")],
    )
    lines = table_lines(report, 80)
    row = next(line for line in lines if line.endswith("failed"))
    assert len(row) <= 80
    assert row.startswith("tests/integ")
    assert "\u2026" in row
    assert "test_fit_with_a_python_generator" in row, "the test's own name stays"
    assert any(line.startswith(f"{test} [tf2.16]: failed") for line in lines)


def test_a_sweep_prints_its_table_within_the_terminals_columns(
    pytester: pytest.Pytester, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four identical cells (one shared environment) on a 70-column terminal."""
    cells = "".join(f'  - name: a-long-cell-name-{n}\n    python: "3.11"\n' for n in range(4))
    pytester.makefile(".yaml", matrix=f"defaults:\n  timeout: 30\ncells:\n{cells}")
    pytester.makepyfile(
        test_one="import pytest\n\n@pytest.mark.keras_compat\ndef test_ok():\n    pass\n"
    )
    monkeypatch.setenv("COLUMNS", "70")
    result = pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "-p", "no:cacheprovider"
    )
    assert result.ret == 0, result.stdout.str()
    lines = result.stdout.lines
    table = lines[lines.index(next(x for x in lines if "keras compatibility matrix" in x)) + 1 :]
    table = table[: table.index(next(x for x in table if x.startswith("report: ")))]
    assert all(len(line) <= 70 for line in table), table
    headers = [line.split() for line in table if "a-long-cell-name" in line]
    assert [name for header in headers for name in header] == [
        f"a-long-cell-name-{n}" for n in range(4)
    ]
    assert len(headers) == 2
