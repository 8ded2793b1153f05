"""A real project's own pytest configuration in a real TensorFlow cell.

``tests/resources/strict_project`` is configured as maintainers configure theirs:
``--strict-markers --strict-config``, warnings as errors, the plugin's ini keys and
``--cov`` in ``addopts``, pytest-cov from the project's test extras. Swept once with that
configuration and once without it (``-c plain.ini``, the same environment), every square
must read the same, and a failing square must show pytest's own traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerascompat.model.results import CellStatus, Outcome, Report

from .conftest import RESOURCES

pytestmark = pytest.mark.integration

FAILING_LINE = ">       assert predictions.shape == (5,)"


def sweep(project: Path, cache_dir: Path, *args: str) -> tuple[str, Report]:
    """``pytest --keras-matrix`` as the project's maintainer runs it: their configuration
    applies (nothing here overrides ``addopts``)."""
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         *args],
        cwd=project, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED, output[-4000:]
    assert "INTERNALERROR" not in output
    return completed.stdout, Report.read_json(project / ".kerascompat" / "report.json")


@pytest.fixture(scope="module")
def sweeps(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[Path, tuple[str, Report], tuple[str, Report]]:
    project = tmp_path_factory.mktemp("projects") / "tinyfit"
    shutil.copytree(RESOURCES / "strict_project", project)
    strict = sweep(project, cache_dir)
    plain = sweep(project, cache_dir, "-c", "plain.ini")
    return project, strict, plain


def outcomes(report: Report) -> dict[str, Outcome]:
    return {result.test.rsplit("::", 1)[-1]: result.outcome for result in report.results}


def test_every_square_reads_as_without_the_projects_configuration(
    sweeps: tuple[Path, tuple[str, Report], tuple[str, Report]],
) -> None:
    _, (_, strict), (plain_output, plain) = sweeps
    (cell,) = strict.cells
    assert cell.status is CellStatus.OK
    assert (cell.keras or "").startswith("3.")
    assert (
        outcomes(strict)
        == outcomes(plain)
        == {
            "test_fits_arrays": Outcome.PASSED,
            "test_predicts_one_value_per_row": Outcome.FAILED,
            "test_trains_with_the_projects_helper": Outcome.REMOVED,
            "test_loss_goes_down": Outcome.PASSED,
        }
    )
    assert "environment reused" in plain_output, "the configuration is not part of the plan"


def test_the_failing_squares_traceback_is_printed_under_failures_and_kept_in_the_json(
    sweeps: tuple[Path, tuple[str, Report], tuple[str, Report]],
) -> None:
    _, (output, report), _ = sweeps
    failures = output[output.index("= FAILURES =") : output.index("keras compatibility matrix")]
    assert FAILING_LINE in failures
    assert "E       assert (5, 1) == (5,)" in failures
    assert "predicted (5, 1)" in failures, "the test's captured output"
    assert "worker log: " in failures
    failed = next(r for r in report.results if r.outcome is Outcome.FAILED)
    assert FAILING_LINE in (failed.longrepr or "")
    assert "tests/test_training.py:20: AssertionError" in (failed.longrepr or "")
    removed = next(r for r in report.results if r.outcome is Outcome.REMOVED)
    assert "model.fit_generator(batches()" in (removed.longrepr or ""), "the helper's line"


def test_coverage_and_the_plugins_ini_keys_took_effect(
    sweeps: tuple[Path, tuple[str, Report], tuple[str, Report]],
) -> None:
    project, _, _ = sweeps
    runs = sorted((project / ".kerascompat" / "runs").iterdir())
    strict_run = runs[0]
    assert (strict_run / "tf2.16.coverage").is_file(), "pytest-cov measured inside the cell"
    worker_log = (strict_run / "tf2.16.worker.log").read_text(encoding="utf-8")
    assert "coverage: platform" in worker_log
    assert not (project / ".coverage").exists(), "no empty coverage from the controller"
    assert (project / ".kerascompat" / "report.md").is_file(), "keras_report_md applied"
