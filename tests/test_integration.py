"""Real sweeps with real TensorFlow and Keras: a Keras 2 cell, a Keras 3 cell, and 1.15.

Slow by nature (each cell is a TensorFlow install and import), so the cells are
shared: one probe sweep builds them, the user-test sweep reuses them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_kerascompat.model.results import Outcome, Report

from .conftest import RESOURCES, bisect, installed_python37, ready_environments

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[1]
CELLS = "tf2.15,tf2.16"


def sweep(
    cwd: Path, cache_dir: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], Report]:
    completed = subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, "-m", "pytest", "--keras-matrix", f"--keras-cache-dir={cache_dir}",
         "-p", "no:cacheprovider", "-o", "addopts=", *args],
        cwd=cwd, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    report = Report.read_json(cwd / ".kerascompat" / "report.json")
    return completed, report


def outcome(report: Report, test_suffix: str, cell: str) -> Outcome:
    for result in report.results:
        if result.cell == cell and result.test.endswith(test_suffix):
            return result.outcome
    raise AssertionError(f"no square for {test_suffix} in {cell}")


@pytest.fixture(scope="module")
def probe_sweep(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[subprocess.CompletedProcess[str], Report]:
    workdir = tmp_path_factory.mktemp("probes")
    return sweep(workdir, cache_dir, "--keras-probes", f"--keras-cells={CELLS}")


def test_fit_generator_is_deprecated_on_keras_2_and_removed_on_keras_3(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
) -> None:
    _, report = probe_sweep
    assert outcome(report, "test_fit_generator", "tf2.15") is Outcome.DEPRECATED
    assert outcome(report, "test_fit_generator", "tf2.16") is Outcome.REMOVED
    removed = next(r for r in report.results if r.cell == "tf2.16" and r.api == "fit_generator")
    assert removed.exc_type == "AttributeError"
    assert "has no attribute 'fit_generator'" in (removed.message or "")
    assert removed.hint is not None


def test_fit_workers_is_removed_only_on_keras_3(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
) -> None:
    _, report = probe_sweep
    assert outcome(report, "test_fit_workers", "tf2.15") is Outcome.PASSED
    assert outcome(report, "test_fit_workers", "tf2.16") is Outcome.REMOVED


def test_the_feeding_apis_that_survived_pass_in_both(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
) -> None:
    _, report = probe_sweep
    for probe in ("fit_python_generator", "fit_sequence", "tf_data", "tf_data_from_generator",
                  "image_data_generator"):  # fmt: skip
        for cell in ("tf2.15", "tf2.16"):
            assert outcome(report, f"test_{probe}", cell) is Outcome.PASSED, (probe, cell)


def test_cells_record_the_versions_actually_installed(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
) -> None:
    _, report = probe_sweep
    keras2, keras3 = report.cells
    assert (keras2.tensorflow or "").startswith("2.15.")
    assert (keras2.keras or "").startswith("2.15.")
    assert (keras3.tensorflow or "").startswith("2.16.")
    assert (keras3.keras or "").startswith("3.")
    assert keras2.python == "3.11.7" or (keras2.python or "").startswith("3.11")


def test_a_probe_only_sweep_informs_and_exits_zero(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
) -> None:
    completed, _ = probe_sweep
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "keras compatibility matrix" in completed.stdout
    assert "fit_generator" in completed.stdout


def test_user_tests_get_real_fixtures_and_removal_fails_the_run(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    for name in ("test_training.py", "test_images.py"):
        (tmp_path / name).write_text((RESOURCES / name).read_text())
    completed, report = sweep(tmp_path, cache_dir, f"--keras-cells={CELLS}", "--keras-probes", ".")
    assert completed.returncode == 1, completed.stdout[-3000:]
    assert "environment reused" in completed.stdout, "the probe sweep's cells were reused"
    assert outcome(report, "test_fixtures_describe_the_cell", "tf2.15") is Outcome.PASSED
    assert outcome(report, "test_fixtures_describe_the_cell", "tf2.16") is Outcome.PASSED
    assert outcome(report, "test_trains_with_fit_generator", "tf2.15") is Outcome.DEPRECATED
    assert outcome(report, "test_trains_with_fit_generator", "tf2.16") is Outcome.REMOVED
    assert outcome(report, "test_known_to_break_on_keras_3", "tf2.16") is Outcome.XFAILED
    assert outcome(report, "test_known_to_break_on_keras_3", "tf2.15") is Outcome.DEPRECATED
    assert outcome(report, "test_fit_generator", "tf2.16") is Outcome.REMOVED
    assert outcome(report, "test_builds_an_image_data_generator", "tf2.15") is Outcome.PASSED
    # Its module's Keras import is gone in tf2.16: the test tf2.15 collected is removed there.
    images = "test_images.py::test_builds_an_image_data_generator"
    assert outcome(report, images, "tf2.16") is Outcome.REMOVED
    (derived,) = [r for r in report.results if r.cell == "tf2.16" and r.test.endswith(images)]
    assert derived.failed_module == "test_images.py"


def test_the_legacy_example_reaches_back_to_tensorflow_1_15_on_python_3_7(
    tmp_path: Path, cache_dir: Path
) -> None:
    if installed_python37() is None:
        pytest.skip("no pyenv Python 3.7 is installed here")
    matrix = ROOT / "examples" / "matrix-legacy.yaml"
    completed, report = sweep(
        tmp_path, cache_dir, "--keras-probes", f"--keras-matrix-file={matrix}",
        "--keras-cells=tf1.15-keras2.3",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:]
    cell = report.cells[0]
    assert (cell.python or "").startswith("3.7.")
    assert cell.tensorflow == "1.15.5"
    assert cell.keras == "2.3.1"
    assert set(cell.pins) == {"numpy<2", "protobuf<3.21", "h5py<3"}
    assert outcome(report, "test_fit_generator", "tf1.15-keras2.3") is Outcome.PASSED
    assert outcome(report, "test_tf_data", "tf1.15-keras2.3") is Outcome.FAILED
    assert outcome(report, "test_tf_data_from_generator", "tf1.15-keras2.3") is Outcome.REMOVED


def test_hangs_and_crashes_in_one_cell_leave_every_other_square_filled(
    probe_sweep: tuple[subprocess.CompletedProcess[str], Report],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    (tmp_path / "test_misbehaving_keras.py").write_text(
        (RESOURCES / "test_misbehaving_keras.py").read_text()
    )
    started = time.monotonic()
    completed, report = sweep(
        tmp_path, cache_dir, f"--keras-cells={CELLS}", "--keras-timeout=20", "--keras-probes",
        "test_misbehaving_keras.py",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert completed.returncode == 1, completed.stdout[-3000:]
    expected = {
        "test_trains": Outcome.PASSED,
        "test_fails_on_a_shape_mismatch": Outcome.FAILED,
        "test_endless_generator_without_steps_per_epoch": Outcome.TIMEOUT,
        "test_segfaults_in_native_code": Outcome.CRASHED,
        "test_aborts": Outcome.CRASHED,
    }
    for test, expected_outcome in expected.items():
        assert outcome(report, test, "tf2.15") is expected_outcome, test
        assert outcome(report, test, "tf2.16") is Outcome.PASSED, test
    assert outcome(report, "test_fit_generator", "tf2.15") is Outcome.DEPRECATED
    hang = next(r for r in report.results if r.test.endswith("without_steps_per_epoch")
                and r.cell == "tf2.15")  # fmt: skip
    assert "in test_endless_generator_without_steps_per_epoch (innermost: " in (hang.message or "")
    assert " in fit\n" in (hang.detail or ""), "the whole stack, Keras's fit included"
    assert elapsed < 300, f"the sweep took {elapsed:.0f} s"


def test_bisecting_the_fit_generator_probe_finds_tensorflow_2_16_with_log2_builds(
    tmp_path: Path, cache_dir: Path
) -> None:
    """Four releases: both ends, then one midpoint (2.16.1, the first 2.16 on PyPI)."""
    before = ready_environments(cache_dir)

    answer, _ = bisect(
        tmp_path, cache_dir, "--probe=fit_generator", "--package=tensorflow",
        "--range=>=2.15.1,<=2.17.0",
    )  # fmt: skip

    assert answer["releases"] == ["2.15.1", "2.16.1", "2.16.2", "2.17.0"]
    last_good, first_bad = answer["last_good"], answer["first_bad"]
    assert (last_good["version"], last_good["outcome"]) == ("2.15.1", "deprecated")
    assert (first_bad["version"], first_bad["outcome"]) == ("2.16.1", "removed")
    assert "fit_generator" in first_bad["message"]
    assert answer["hint"].startswith("fit_generator is gone from Keras 3")
    assert [trial["version"] for trial in answer["trials"]] == ["2.15.1", "2.16.1", "2.17.0"]
    built = ready_environments(cache_dir) - before
    assert len(built) == sum(trial["built"] for trial in answer["trials"]) <= 3
