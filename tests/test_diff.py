"""``diff BASE.json HEAD.json``: what a change broke, fixed or changed, and its exit status."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.commands.diff import Change, diff_reports
from pytest_kerascompat.model.results import CellReport, CellStatus, Outcome, Report, Result

from .conftest import RESOURCES

FIT = "tests/test_train.py::test_fit"
SAVE = "tests/test_train.py::test_save"
LOAD = "tests/test_train.py::test_load"
NEW = "tests/test_train.py::test_new"


def cell(name: str, tensorflow: str = "2.15.1", **fields: object) -> CellReport:
    return CellReport(name, python="3.11.7", tensorflow=tensorflow, keras="2.15.0", **fields)  # type: ignore[arg-type]


def base_report() -> Report:
    return Report(
        cells=[cell("tf2.15"), cell("tf2.16", "2.16.2"), cell("gone")],
        results=[
            Result("tf2.15", FIT, Outcome.PASSED),
            Result("tf2.15", SAVE, Outcome.FAILED, message="was broken"),
            Result("tf2.15", LOAD, Outcome.PASSED),
            Result("tf2.16", FIT, Outcome.DEPRECATED),
            Result("gone", FIT, Outcome.PASSED),
        ],
    )


def head_report() -> Report:
    return Report(
        cells=[
            cell("tf2.15"),
            cell("tf2.16", "2.16.2", status=CellStatus.INSTALL_ERROR, detail="no wheel"),
            cell("new"),
        ],
        results=[
            Result("tf2.15", FIT, Outcome.FAILED, message="shape (3|4) <b>"),
            Result("tf2.15", SAVE, Outcome.PASSED),
            Result("tf2.15", LOAD, Outcome.SKIPPED),
            Result("tf2.15", NEW, Outcome.PASSED),
            Result("new", FIT, Outcome.PASSED),
        ],
    )


def write(path: Path, report: Report) -> Path:
    report.write_json(path)
    return path


def test_each_square_and_cell_is_classified_by_what_it_did() -> None:
    diff = diff_reports(base_report(), head_report())
    squares = {
        (item.test, item.cell): (item.change, item.before, item.after) for item in diff.squares
    }
    assert squares == {
        (FIT, "tf2.15"): (Change.BROKE, "passed", "failed"),
        (SAVE, "tf2.15"): (Change.FIXED, "failed", "passed"),
        (LOAD, "tf2.15"): (Change.CHANGED, "passed", "skipped"),
        (NEW, "tf2.15"): (Change.ADDED, None, "passed"),
        (FIT, "new"): (Change.ADDED, None, "passed"),
    }
    cells = {item.cell: item.change for item in diff.cells}
    assert cells == {"tf2.16": Change.BROKE, "new": Change.ADDED, "gone": Change.REMOVED}
    assert diff.broke


def test_a_new_test_that_fails_is_a_break_and_one_that_failed_before_is_not() -> None:
    base = Report(cells=[cell("c")], results=[Result("c", FIT, Outcome.FAILED)])
    head = Report(
        cells=[cell("c")],
        results=[Result("c", FIT, Outcome.TIMEOUT), Result("c", NEW, Outcome.ERROR)],
    )
    diff = diff_reports(base, head)
    assert [(item.test, item.change) for item in diff.squares] == [
        (FIT, Change.CHANGED),
        (NEW, Change.BROKE),
    ]


def test_a_square_gone_from_a_cell_both_reports_have_is_removed() -> None:
    base = Report(cells=[cell("c")], results=[Result("c", FIT, Outcome.PASSED)])
    diff = diff_reports(base, Report(cells=[cell("c")]))
    assert [(item.test, item.change, item.after) for item in diff.squares] == [
        (FIT, Change.REMOVED, None)
    ]
    assert not diff.broke


def test_a_probe_that_starts_failing_changes_but_breaks_nothing() -> None:
    base = Report(cells=[cell("c")], results=[Result("c", "probes::p", Outcome.PASSED, probe=True)])
    head = Report(cells=[cell("c")], results=[Result("c", "probes::p", Outcome.FAILED, probe=True)])
    diff = diff_reports(base, head)
    assert [item.change for item in diff.squares] == [Change.CHANGED]
    assert not diff.broke


def test_a_cell_whose_release_moved_is_listed_with_both_versions() -> None:
    base = Report(cells=[cell("c", "2.15.0")])
    head = Report(cells=[cell("c", "2.15.1")])
    (item,) = diff_reports(base, head).cells
    assert item.change is Change.CHANGED
    assert "TensorFlow 2.15.0" in (item.before or "")
    assert "TensorFlow 2.15.1" in (item.after or "")


def test_it_exits_1_and_writes_every_format_when_something_broke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    base = write(tmp_path / "base.json", base_report())
    head = write(tmp_path / "head.json", head_report())
    status = main(["diff", str(base), str(head), "--md", str(tmp_path / "d.md"),
                   "--json", str(tmp_path / "d.json")])  # fmt: skip
    assert status == 1
    out = capsys.readouterr().out
    assert out.startswith("HEAD breaks what BASE did not")
    assert f"BROKE (1)\n  {FIT} [tf2.15]: passed -> failed\n      shape (3|4) <b>" in out
    assert "  tf2.16: broke: ok, Python 3.11.7" in out
    markdown = (tmp_path / "d.md").read_text()
    assert "### Broke (1)" in markdown
    assert "shape (3\\|4) &lt;b&gt;" in markdown
    assert "<b>" not in markdown
    assert summary.read_text() == markdown + "\n"
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["broke"] is True
    assert data["counts"] == {"broke": 1, "fixed": 1, "changed": 1, "added": 2, "removed": 0}


def test_it_exits_0_when_nothing_broke_and_prints_json_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path / "base.json", base_report())
    assert main(["diff", str(base), str(base), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "broke": False,
        "counts": dict.fromkeys(("broke", "fixed", "changed", "added", "removed"), 0),
        "squares": [],
        "cells": [],
    }


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "no such file"), ("{", "not a JSON report"), ("[]", "not a kerascompat report")],
)
def test_a_file_that_is_not_a_report_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    good = write(tmp_path / "good.json", base_report())
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["diff", str(good), str(bad)]) == 2
    assert f"error: {bad}: {problem}" in capsys.readouterr().err


def test_reports_of_two_real_sweeps_diff_to_the_test_that_broke(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    marked = "import pytest\n\n@pytest.mark.keras_compat\ndef test_{name}():\n    assert {ok}\n"
    runs = []
    for run, ok in (("base", "True"), ("head", "False")):
        pytester.makepyfile(test_a=marked.format(name="a", ok="True"),
                            test_b=marked.format(name="b", ok=ok))  # fmt: skip
        report = pytester.path / f"{run}.json"
        pytester.runpytest_subprocess(
            "--keras-matrix", f"--keras-cache-dir={cache_dir}", "--keras-cells=plain",
            f"--keras-report-json={report}", "-p", "no:cacheprovider",
        )  # fmt: skip
        runs.append(str(report))
    result = pytester.run(
        sys.executable, "-m", "pytest_kerascompat", "diff", *runs, "--format", "json"
    )
    assert result.ret == 1
    data = json.loads(result.stdout.str())
    assert [
        (s["test"], s["cell"], s["change"], s["before"], s["after"]) for s in data["squares"]
    ] == [("test_b.py::test_b", "plain", "broke", "passed", "failed")]
    assert data["cells"] == []
