"""``python -m pytest_kerascompat``: merging shard reports and printing a CI matrix."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from pytest_kerascompat.commands.cli import main
from pytest_kerascompat.model.results import CellReport, Outcome, Report, Result
from pytest_kerascompat.report.table import all_rows

from .conftest import RESOURCES


def write(report: Report, path: Path) -> Path:
    report.write_json(path)
    return path


def shard(cell: str, outcome: Outcome = Outcome.PASSED) -> Report:
    return Report(
        cells=[CellReport(name=cell, python="3.11.7", tensorflow="2.15.1", keras="2.15.0")],
        results=[Result(cell=cell, test="test_a.py::test_fit", outcome=outcome)],
    )


def table_of(report: Report) -> list[tuple[str, list[str]]]:
    return [(row.label, [square.text for square in row.squares]) for row in all_rows(report)]


def sweep(cwd: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         "-p", "no:cacheprovider", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_merging_the_shards_of_a_matrix_gives_the_table_of_one_whole_run(
    pytester: pytest.Pytester, cache_dir: Path
) -> None:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.makepyfile(test_selection=(RESOURCES / "test_selection.py").read_text())
    whole = sweep(pytester.path, cache_dir, "--keras-report-json=whole.json")
    assert whole.returncode == 0, whole.stdout
    for cell in ("plain", "plain-b"):
        part = sweep(pytester.path, cache_dir, f"--keras-cells={cell}",
                     f"--keras-report-json=shard-{cell}.json")  # fmt: skip
        assert part.returncode == 0, part.stdout
    shards = [str(pytester.path / f"shard-{cell}.json") for cell in ("plain", "plain-b")]
    status = main(["merge", *shards, "--json", str(pytester.path / "merged.json"),
                   "--md", str(pytester.path / "merged.md")])  # fmt: skip
    assert status == 0
    merged = Report.read_json(pytester.path / "merged.json")
    assert table_of(merged) == table_of(Report.read_json(pytester.path / "whole.json"))
    assert "plain-b" in (pytester.path / "merged.md").read_text()


def test_merging_prints_the_table_and_writes_every_format(tmp_path: Path) -> None:
    shards = [
        write(shard("tf2.15"), tmp_path / "a.json"),
        write(shard("tf2.16"), tmp_path / "b.json"),
    ]
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest_kerascompat", "merge", *map(str, shards),
         "--html", str(tmp_path / "r.html"), "--junitxml", str(tmp_path / "r.xml")],
        capture_output=True, text=True, check=False,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "keras compatibility matrix" in completed.stdout
    assert "tf2.15  tf2.16" in completed.stdout
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert "<testsuites" in (tmp_path / "r.xml").read_text()
    assert "tf2.16" in (tmp_path / "summary.md").read_text()


def test_a_merged_report_that_fails_the_run_exits_one(tmp_path: Path) -> None:
    failing = shard("tf2.16", Outcome.REMOVED)
    assert main(["merge", str(write(shard("tf2.15"), tmp_path / "a.json")),
                 str(write(failing, tmp_path / "b.json"))]) == 1  # fmt: skip


def test_the_same_square_with_two_outcomes_is_a_conflict_naming_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(shard("tf2.16", Outcome.PASSED), tmp_path / "first.json")
    second = write(shard("tf2.16", Outcome.REMOVED), tmp_path / "second.json")
    assert main(["merge", str(first), str(second)]) == 2
    error = capsys.readouterr().err
    assert "test_a.py::test_fit in cell 'tf2.16' is passed in" in error
    assert "first.json" in error
    assert "second.json" in error


def test_the_same_square_twice_with_one_outcome_merges(tmp_path: Path) -> None:
    first = write(shard("tf2.16"), tmp_path / "first.json")
    second = write(shard("tf2.16"), tmp_path / "second.json")
    assert main(["merge", str(first), str(second), "--json", str(tmp_path / "m.json")]) == 0
    assert len(Report.read_json(tmp_path / "m.json").results) == 1


@pytest.mark.parametrize("field", ["tensorflow", "keras", "python"])
def test_one_cell_with_other_versions_in_two_shards_is_a_conflict_naming_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    other = shard("tf2.16")
    other.cells[0] = dataclasses.replace(other.cells[0], **{field: "9.9.9"})
    first = write(shard("tf2.16"), tmp_path / "first.json")
    second = write(other, tmp_path / "second.json")
    assert main(["merge", str(first), str(second)]) == 2
    error = capsys.readouterr().err
    assert "cell 'tf2.16' differs between" in error
    assert "first.json" in error
    assert "second.json" in error
    assert "9.9.9" in error


def test_shards_of_another_schema_version_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = shard("tf2.15").to_dict()
    data["schema_version"] = 99
    other = tmp_path / "future.json"
    other.write_text(json.dumps(data))
    assert main(["merge", str(write(shard("tf2.16"), tmp_path / "a.json")), str(other)]) == 2
    assert "future.json: schema version 99" in capsys.readouterr().err


def test_a_missing_or_foreign_shard_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "package.json"
    foreign.write_text('{"name": "not a report"}')
    assert main(["merge", str(tmp_path / "nope.json")]) == 2
    assert main(["merge", str(foreign)]) == 2
    error = capsys.readouterr().err
    assert "nope.json: no such file" in error
    assert "package.json: not a kerascompat report" in error


def test_ci_matrix_prints_each_cell_with_its_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("cells:\n  - {name: old, python: '3.7'}\n  - {name: bare}\n")
    assert main(["ci-matrix", "--matrix-file", str(matrix)]) == 0
    include = json.loads(capsys.readouterr().out)["include"]
    assert [item["cell"] for item in include] == ["old", "bare"]
    assert include[0]["python"] == "3.7"
    # A cell that asks for nothing gets the newest Python the index knows pytest for
    # (3.13 when it cannot be asked).
    assert Version(include[1]["python"]) >= Version("3.13")
    assert all(re.fullmatch("kerascompat-[0-9a-f]{16}", item["cache_key"]) for item in include)


def ci_cache_keys(
    directory: Path, capsys: pytest.CaptureFixture[str], matrix: str, setup: str = ""
) -> dict[str, str]:
    directory.mkdir(exist_ok=True)
    (directory / "matrix.yaml").write_text(matrix)
    (directory / "setup.py").write_text(setup)
    assert main(["ci-matrix", "--matrix-file", str(directory / "matrix.yaml")]) == 0
    return {
        item["cell"]: item["cache_key"] for item in json.loads(capsys.readouterr().out)["include"]
    }


def test_ci_matrix_cache_keys_change_with_the_plan_and_not_with_the_checkouts_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = "project: .\ncells:\n  - {name: a, python: '3.11'}\n  - {name: b, python: '3.12'}\n"
    here = ci_cache_keys(tmp_path / "here", capsys, matrix)
    assert here["a"] != here["b"]
    assert ci_cache_keys(tmp_path / "there", capsys, matrix) == here
    more = matrix.replace("name: a,", "name: a, packages: [rich],")
    assert ci_cache_keys(tmp_path / "here", capsys, more)["a"] != here["a"]
    assert ci_cache_keys(tmp_path / "here", capsys, matrix, setup="# changed")["a"] != here["a"]


def test_ci_matrix_reports_a_bad_matrix_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("cells:\n  - {name: a, tensorflw: '2.15'}\n")
    assert main(["ci-matrix", "--matrix-file", str(matrix)]) == 2
    assert "did you mean 'tensorflow'" in capsys.readouterr().err


@pytest.mark.integration
def test_ci_matrix_asks_the_index_which_python_a_release_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = Path(__file__).parents[1]
    assert main(["ci-matrix", "--matrix-file", str(root / "matrix.yaml")]) == 0
    include = {
        item["cell"]: item["python"] for item in json.loads(capsys.readouterr().out)["include"]
    }
    assert include["tf2.15"] == "3.11"
    assert include["tf2.16"] == "3.12"
    assert include["tf2.3"] == "3.8"
