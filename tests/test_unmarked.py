"""An existing suite without ``keras_compat`` markers: stop early and say how to select
it, or run it all with ``--keras-all-tests``. Real nox/uv cells without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_kerascompat.model.results import Report

from .conftest import RESOURCES

UNMARKED = """
def test_one():
    pass

def test_two():
    pass

def test_three():
    assert 1 + 1 == 2
"""


@pytest.fixture
def unmarked_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.path.joinpath("matrix.yaml").write_text((RESOURCES / "plain_matrix.yaml").read_text())
    pytester.makepyfile(test_suite=UNMARKED)
    return pytester


def sweep(pytester: pytest.Pytester, cache_dir: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--keras-matrix", f"--keras-cache-dir={cache_dir}", "-p", "no:cacheprovider",
        "--keras-jobs=1", *args,
    )  # fmt: skip


def test_a_suite_with_no_marked_test_stops_at_the_first_cell_and_says_how_to_select(
    unmarked_project: pytest.Pytester, cache_dir: Path
) -> None:
    result = sweep(unmarked_project, cache_dir)

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(
        ["*cell plain collected 3 tests, none marked keras_compat*stopped before building*"]
    )
    text = result.stdout.str()
    assert "pytestmark = pytest.mark.keras_compat" in text
    assert "--keras-all-tests" in text
    assert "KERASCOMPAT_ALL_TESTS=1" in text
    assert "[plain-b]" not in text, "no further cell was built or run"


def test_keras_all_tests_runs_every_collected_test_in_every_cell(
    unmarked_project: pytest.Pytester, cache_dir: Path
) -> None:
    result = sweep(unmarked_project, cache_dir, "--keras-all-tests")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = Report.read_json(unmarked_project.path / ".kerascompat" / "report.json")
    assert sorted((r.cell, r.test.split("::")[-1], r.outcome.value) for r in report.results) == [
        (cell, test, "passed")
        for cell in ("plain", "plain-b")
        for test in ("test_one", "test_three", "test_two")
    ]


def test_the_ini_key_selects_every_test_too(
    unmarked_project: pytest.Pytester, cache_dir: Path
) -> None:
    unmarked_project.makeini("[pytest]\nkeras_all_tests = true\n")
    result = sweep(unmarked_project, cache_dir, "--keras-cells=plain")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*3 passed*"])
